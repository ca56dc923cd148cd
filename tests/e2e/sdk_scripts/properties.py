"""User properties: written with set_user_properties, read back with get_user_properties."""

import json

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="properties run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
task.set_user_properties(backbone="resnet", stable=True)
task.set_user_properties({"name": "depth", "description": "layers", "value": 50})
print("VALUES", json.dumps(task.get_user_properties(value_only=True), sort_keys=True), flush=True)
full = task.get_user_properties()
print("FULL", json.dumps(full["depth"], sort_keys=True), flush=True)
task.delete_user_properties([{"section": "properties", "name": "stable"}])
print("AFTER", json.dumps(task.get_user_properties(value_only=True), sort_keys=True), flush=True)
task.close()
