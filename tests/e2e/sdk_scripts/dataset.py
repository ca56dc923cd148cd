"""A dataset of a small folder (argv[1]) uploaded and finalized, then a child version with one
more file; both read back through the SDK, printed as one JSON line."""

import json
import sys
from pathlib import Path

from clearml import Dataset

folder = Path(sys.argv[1])
parent = Dataset.create(dataset_name="digits", dataset_project="sdk datasets")
parent.add_files(path=str(folder))
parent.upload()
parent.finalize()

extra = folder.parent / "extra"
extra.mkdir(exist_ok=True)
(extra / "c.txt").write_text("three")
child = Dataset.create(
    dataset_name="digits", dataset_project="sdk datasets", parent_datasets=[parent.id]
)
child.add_files(path=str(extra))
child.upload()
child.finalize()
print("TASK", child.id, flush=True)

got = Dataset.get(dataset_id=child.id)
local = Path(got.get_local_copy())
latest = Dataset.get(dataset_project="sdk datasets", dataset_name="digits")
listed = Dataset.list_datasets(dataset_project="sdk datasets", only_completed=True)
found = {
    "parent": parent.id,
    "child": child.id,
    "files": sorted(got.list_files()),
    "parent_files": sorted(Dataset.get(dataset_id=parent.id).list_files()),
    "content": {p.name: p.read_text() for p in local.rglob("*.txt")},
    "graph": got.get_dependency_graph(),
    "latest": [latest.id, latest.version],
    "listed": sorted([d["id"], d["version"]] for d in listed),
}
print("RESULT", json.dumps(found), flush=True)
