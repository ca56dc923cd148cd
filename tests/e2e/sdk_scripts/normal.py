"""A minimal ClearML experiment: init, connect, report, print, close."""

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="normal run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
params = {"lr": 0.1, "epochs": 5}
task.connect(params)
logger = task.get_logger()
for i in range(5):
    logger.report_scalar("loss", "train", value=1.0 / (i + 1), iteration=i)
print("hello from the script", flush=True)
task.close()
