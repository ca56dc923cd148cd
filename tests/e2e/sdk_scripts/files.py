"""A run whose artifacts, model weights and debug images go to the file server (the SDK's
default destination), read back through the SDK; then StorageManager on its own."""

import json
import os
import sys
from pathlib import Path

import numpy as np
from clearml import InputModel, OutputModel, StorageManager, Task

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name="sdk e2e",
    task_name="files run",
    reuse_last_task_id=False,
    output_uri=True,  # models too go to the default file server (artifacts always do)
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
blob = work / "blob.bin"
blob.write_bytes(bytes(range(256)) * 1000)
task.upload_artifact("table", artifact_object={"a": 1, "b": [2, 3]}, wait_on_upload=True)
task.upload_artifact("blob", artifact_object=str(blob), wait_on_upload=True)
weights = work / "weights.pt"
weights.write_bytes(b"weights " * 5000)  # the SDK deletes it once uploaded
model = OutputModel(task=task, name="files model", framework="PyTorch")
model.update_weights(weights_filename=str(weights))
image = np.zeros((16, 16, 3), dtype=np.uint8)
image[:, :, 0] = 255
task.get_logger().report_image("samples", "red", iteration=0, image=image)
clip = work / "clip.txt"
clip.write_text("media bytes")
task.get_logger().report_media("media", "clip", iteration=0, local_path=str(clip))
task.flush(wait_for_uploads=True)
task.close()

done = Task.get_task(task_id=task.id)
print("ARTIFACT_URIS", json.dumps({k: a.url for k, a in done.artifacts.items()}))
print("TABLE", json.dumps(done.artifacts["table"].get()))
local_blob = done.artifacts["blob"].get_local_copy()
print("BLOB_SAME", json.dumps(Path(local_blob).read_bytes() == blob.read_bytes()))
print("MODEL", json.dumps([model.id, model.url]))
copy = InputModel(model_id=model.id).get_local_copy()
print("WEIGHTS_SAME", json.dumps(Path(copy).read_bytes() == b"weights " * 5000))
(sample,) = done.get_debug_samples("samples", "red")
print("IMAGE_URL", json.dumps(sample["url"]))
image_copy = StorageManager.get_local_copy(sample["url"])
print("IMAGE_BYTES", json.dumps(os.path.getsize(image_copy)))
(media,) = done.get_debug_samples("media", "clip")
print("MEDIA_URL", json.dumps(media["url"]))
print("MEDIA", json.dumps(Path(StorageManager.get_local_copy(media["url"])).read_text()))

files_host = os.environ["CLEARML_FILES_HOST"].rstrip("/")
note = work / "note.txt"
note.write_text("a note for the file server")
remote = StorageManager.upload_file(str(note), f"{files_host}/manual/notes/note.txt")
print("UPLOADED", json.dumps(remote))
print(
    "EXISTS",
    json.dumps([StorageManager.exists_file(remote), StorageManager.exists_file(remote + ".no")]),
)
fetched = StorageManager.get_local_copy(remote, force_download=True)
print("NOTE", json.dumps(Path(fetched).read_text()))
