"""A task made with the SDK (not run here) is enqueued by queue name, as a user would."""

import sys

from clearml import Task

task = Task.create(project_name="sdk e2e", task_name="enqueued task", task_type="training")
print("TASK", task.id, flush=True)
Task.enqueue(task, queue_name=sys.argv[1] if len(sys.argv) > 1 else "default")
