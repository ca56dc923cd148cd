"""Publish a dataset version (argv[1]) and delete another (argv[2]), keeping its files (they
are the storage's business); print what the SDK then finds, as one JSON line."""

import json
import sys

from clearml import Dataset

parent, child = sys.argv[1], sys.argv[2]
Dataset.get(dataset_id=parent).publish()
Dataset.delete(dataset_id=child, delete_files=False, force=True)
print("TASK", parent, flush=True)
found = {
    "published": Dataset.get(dataset_id=parent, only_published=True).id,
    "listed": sorted(d["id"] for d in Dataset.list_datasets(dataset_project="sdk datasets")),
}
print("RESULT", json.dumps(found), flush=True)
