"""The job an agent runs: reports, prints, then (by its parameters) waits at a gate or fails."""

import time
from pathlib import Path

from clearml import Task

task = Task.init(project_name="agent e2e", task_name="agent job", auto_resource_monitoring=False)
params = task.connect({"gate": "", "fail": False})
logger = task.get_logger()
for i in range(3):
    logger.report_scalar("loss", "train", value=10.0 - i, iteration=i)
print("hello from the agent job", flush=True)
if params["gate"]:
    # The test opens the gate once it has seen the task running (or stops the task instead);
    # bounded, so a test that never opens it cannot leave a job behind for long.
    deadline = time.monotonic() + 120
    while not Path(params["gate"]).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    print("through the gate", flush=True)
if params["fail"] and params["fail"] != "False":
    raise RuntimeError("the agent job failed on purpose")
