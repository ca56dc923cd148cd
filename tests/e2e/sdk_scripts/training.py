"""A training run as ClearML's SDK makes one: init, connect, scalars, an artifact, close; then
the task read back through the SDK."""

import json

from clearml import Task

task = Task.init(
    project_name="sdk on citus",
    task_name="training run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
task.connect({"lr": 0.01, "epochs": 20})
logger = task.get_logger()
for i in range(20):
    logger.report_scalar("loss", "train", value=1.0 / (i + 1), iteration=i)
    logger.report_scalar("accuracy", "val", value=i / 20, iteration=i)
print("epoch logs from the script", flush=True)
task.upload_artifact("summary", artifact_object={"best": 0.95, "epochs": 20}, wait_on_upload=True)
task.close()

done = Task.get_task(task_id=task.id)
print("SUMMARY", json.dumps(done.artifacts["summary"].get()))
