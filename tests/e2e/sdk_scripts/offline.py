"""An offline session: recorded locally, to be imported later."""

from clearml import Task

Task.set_offline(offline_mode=True)
task = Task.init(project_name="sdk e2e", task_name="offline run", auto_resource_monitoring=False)
task.connect({"batch": 32})
for i in range(4):
    task.get_logger().report_scalar("loss", "train", value=10.0 - i, iteration=i)
folder = task.get_offline_mode_folder()
task.close()
print("ZIP", f"{folder}.zip", flush=True)
