"""Create the agent job's task (not run here), set its parameters and enqueue it by queue name.

argv: queue name ("-" to create it without enqueueing), gate file ("" for none), fail (0/1).
"""

import sys

from clearml import Task

queue, gate, fail = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
task = Task.create(project_name="agent e2e", task_name="agent job", script="agent_job.py")
task.set_parameters({"General/gate": gate, "General/fail": fail})
print("TASK", task.id, flush=True)
if queue != "-":
    Task.enqueue(task, queue_name=queue)
