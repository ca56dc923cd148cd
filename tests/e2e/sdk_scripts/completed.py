"""A run that marks itself completed."""

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="completing run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
task.get_logger().report_scalar("acc", "val", value=0.9, iteration=7)
task.mark_completed()
