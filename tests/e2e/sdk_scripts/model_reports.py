"""A run whose output model reports scalars, a single value and a plot of its own (model
events), as ClearML's OutputModel.report_* send them (`model_event: true`)."""

import sys
from pathlib import Path

from clearml import OutputModel, Task

store = Path(sys.argv[1])
store.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name="sdk e2e",
    task_name="model reports",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
    output_uri=store.as_uri(),
)
print("TASK", task.id, flush=True)
model = OutputModel(task=task, framework="PyTorch", name="reporting weights")
weights = Path("weights.bin")
weights.write_bytes(b"\x01" * 16)
model.update_weights(weights_filename=str(weights), iteration=1, async_enable=False)
for iteration in range(3):
    model.report_scalar("loss", "val", 1.0 / (iteration + 1), iteration)
model.report_single_value("accuracy", 0.9)
model.report_histogram("hist", "counts", [3, 4], iteration=2)
model._reporter.flush()
print("MODEL", model.id, flush=True)
task.close()
