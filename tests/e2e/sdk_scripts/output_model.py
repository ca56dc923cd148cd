"""A run that saves its weights twice through an OutputModel (to a local folder)."""

import sys
from pathlib import Path

from clearml import OutputModel, Task

store = Path(sys.argv[1])
store.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name="sdk e2e",
    task_name="model run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
    output_uri=store.as_uri(),
)
print("TASK", task.id, flush=True)
model = OutputModel(task=task, framework="PyTorch", name="weights")
for iteration in (1, 2):
    weights = Path(f"weights_{iteration}.bin")
    weights.write_bytes(bytes([iteration]) * 16)
    model.update_weights(weights_filename=str(weights), iteration=iteration, async_enable=False)
print("MODEL", model.id, flush=True)
task.close()
