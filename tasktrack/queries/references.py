"""get_all_ex's references: `only_fields` paths through a task's project (`project.name`)
answer the project as an object, `{id, name, ...}`, as ClearML's joined listing does; the
paths through `user` answer `{id}` (tasktrack keeps no user names); every other reference a
document holds as an id answers `{id}` (`expand`), as ClearML's listings expand them.

Pure: the caller reads the projects the page refers to and hands them in.
"""

from __future__ import annotations

from typing import Any

from tasktrack.queries.shaping import only_fields

# Reference field -> what the referenced documents are keyed by.
REFERENCES = ("project", "user")
# The reference fields ClearML's get_all_ex answers as `{id}` (not only_fields-joined).
TASK_IDS = ("project", "parent")
MODEL_IDS = ("project", "parent", "task")


def expand(docs: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each reference held as an id string (`project: "p1"`) as `{id}` (`project: {id: p1}`),
    in place; an absent or empty one stays as it is."""
    for doc in docs:
        for field in fields:
            value = doc.get(field)
            if isinstance(value, str) and value:
                doc[field] = {"id": value}
    return docs


def referenced(fields: list[str]) -> dict[str, list[str]]:
    """Reference field -> the paths asked inside it (`project.name` -> project: [name])."""
    out: dict[str, list[str]] = {}
    for f in fields:
        root, dot, rest = f.partition(".")
        if dot and root in REFERENCES and rest:
            out.setdefault(root, []).append(rest)
    return out


def project_ids(docs: list[dict[str, Any]]) -> list[str]:
    return sorted({p for d in docs if isinstance(p := d.get("project"), str) and p})


def resolve(
    docs: list[dict[str, Any]],
    fields: list[str],
    projects: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """`docs` (full task documents) shaped by `fields`, with each reference asked for as an
    object: the referenced document cut down to the paths asked (its id always), or `{id}`
    when it is unknown (a deleted project)."""
    refs = referenced(fields)
    plain = [f for f in fields if f.partition(".")[0] not in refs]
    out = []
    for doc in docs:
        shaped = only_fields(doc, plain) if plain else {"id": doc["id"]}
        for root, paths in refs.items():
            key = doc.get(root)
            if not isinstance(key, str) or not key:
                continue
            # A user's name is its id (credentials carry no names; queries/users.py).
            source = projects.get(key, {}) if root == "project" else {"name": key}
            shaped[root] = {**only_fields({**source, "id": key}, paths), "id": key}
        out.append(shaped)
    return out


# A task's queue is held inside `execution`: `execution.queue.name` joins the queue.
QUEUE_PREFIX = "execution.queue."


def queue_paths(fields: list[str]) -> list[str]:
    """The paths asked inside a task's queue (`execution.queue.name` -> [name])."""
    return [f.removeprefix(QUEUE_PREFIX) for f in fields if f.startswith(QUEUE_PREFIX)]


def queue_ids(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(
        {q for d in docs if isinstance(q := (d.get("execution") or {}).get("queue"), str) and q}
    )


def with_queues(
    shaped: list[dict[str, Any]],
    docs: list[dict[str, Any]],
    paths: list[str],
    queues: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each shaped task's `execution.queue` as the queue cut down to `paths` (its id always),
    in place; `docs` are the same tasks in full, in the same order."""
    for out, doc in zip(shaped, docs, strict=True):
        key = (doc.get("execution") or {}).get("queue")
        if isinstance(key, str) and key:
            found = only_fields({**queues.get(key, {}), "id": key}, paths)
            out.setdefault("execution", {})["queue"] = {**found, "id": key}
    return shaped


def expand_queue(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A task's `execution.queue` held as an id answers `{id}`, as ClearML's listing does."""
    for doc in docs:
        execution = doc.get("execution")
        if isinstance(execution, dict) and isinstance(q := execution.get("queue"), str) and q:
            execution["queue"] = {"id": q}
    return docs


def company_objects(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each document's company held as an id (`company: "acme"`) as `{id, name}`, in place
    (a company's name is its id)."""
    for doc in docs:
        value = doc.get("company")
        if isinstance(value, str) and value:
            doc["company"] = {"id": value, "name": value}
    return docs
