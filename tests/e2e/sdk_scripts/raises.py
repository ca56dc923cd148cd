"""A run that reports, then raises: the task ends failed, its scalars still land."""

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="raising run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
for i in range(3):
    task.get_logger().report_scalar("loss", "train", value=float(10 - i), iteration=i)
raise RuntimeError("boom")
