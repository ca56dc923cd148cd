"""A run in a nested project with an artifact and an output model (stored in a local folder),
then deleted through the SDK with its artifacts and models; prints what delete() answered."""

import sys
from pathlib import Path

from clearml import OutputModel, Task

store = Path(sys.argv[1])
store.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name="sdk e2e/nested/deep",
    task_name="to delete",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
    output_uri=store.as_uri(),
)
print("TASK", task.id, flush=True)
print("PROJECT", task.get_project_name(), flush=True)
task.upload_artifact("numbers", artifact_object={"a": 1}, wait_on_upload=True)
weights = Path("weights.bin")
weights.write_bytes(b"w" * 32)
model = OutputModel(task=task, name="weights")
model.update_weights(weights_filename=str(weights), async_enable=False)
print("MODEL", model.id, flush=True)
print("STORED", model.url, flush=True)
print("STORED", task.artifacts["numbers"].url, flush=True)
print("FILES", sum(1 for p in store.rglob("*") if p.is_file()), flush=True)
task.mark_completed()
deleted = task.delete(delete_artifacts_and_models=True, raise_on_error=True)
print("DELETED", bool(deleted), flush=True)  # the SDK answers the call's result, truthy
