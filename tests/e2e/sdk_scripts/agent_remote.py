"""Run here, the script hands itself to an agent; run by the agent, it goes on past that."""

import sys

from clearml import Task

task = Task.init(
    project_name="agent e2e",
    task_name="remote agent run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
task.execute_remotely(queue_name=sys.argv[1] if len(sys.argv) > 1 else "default")
task.get_logger().report_scalar("acc", "val", value=0.75, iteration=1)
print("running under the agent", flush=True)
