"""The base experiment an optimizer clones: its score peaks at x = 3 (params from General)."""

from clearml import Task

task = Task.init(
    project_name="sdk hpo",
    task_name="hpo base",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
    auto_connect_frameworks=False,
)
print("TASK", task.id, flush=True)
params = {"x": 1, "y": 0}
task.connect(params)
x, y = int(params["x"]), int(params["y"])
logger = task.get_logger()
for i in range(3):
    logger.report_scalar("score", "value", value=float(10 - (x - 3) ** 2 - y + i), iteration=i)
task.close()
