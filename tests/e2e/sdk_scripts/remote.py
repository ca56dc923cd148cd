"""A script that hands itself to an agent: execute_remotely stops it here and queues its task."""

import sys

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="remote run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
task.execute_remotely(queue_name=sys.argv[1])
print("still running locally", flush=True)  # never reached: the process exits above
