"""A run with an uploaded artifact, then the SDK's own Task.delete, which deletes its files."""

import json
import sys
from pathlib import Path

from clearml import Task

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name="sdk e2e",
    task_name="deleted with its files",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
data = work / "data.bin"
data.write_bytes(b"data " * 1000)
task.upload_artifact("data", artifact_object=str(data), wait_on_upload=True)
task.flush(wait_for_uploads=True)
task.close()
url = Task.get_task(task_id=task.id).artifacts["data"].url
print("URL", json.dumps(url))
print("DELETED", json.dumps(bool(Task.get_task(task_id=task.id).delete(raise_on_error=True))))
