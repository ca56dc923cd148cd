"""Run twice within a day: the SDK reuses the task (tasks.reset, then an edit that blanks it)."""

import sys

from clearml import Task

run = int(sys.argv[1])
task = Task.init(project_name="sdk e2e", task_name="rerun me", auto_resource_monitoring=False)
print("TASK", task.id, flush=True)
task.connect({"run": run, f"only_in_run_{run}": run})
for i in range(3):
    task.get_logger().report_scalar("loss", "train", value=float(run * 10 + i), iteration=i)
task.close()
