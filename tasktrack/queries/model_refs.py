"""get_all_ex's paths into a task's model lists (`models.input.model.name`): each entry of
`models.input`/`models.output` cut down to the paths asked, its model joined as an object (and
the model's task as `{id, name, project: {id}}`), as ClearML's projection joins the `model`
reference of each list entry. The web UI's artifacts tab asks exactly these paths.

Pure: the caller reads the models and tasks referred to and hands them in.
"""

from __future__ import annotations

from typing import Any

from tasktrack.queries.shaping import only_fields

PREFIX = "models."
KINDS = ("input", "output")


def asked(fields: list[str]) -> dict[str, list[str]]:
    """Kind -> the paths asked inside each of its entries (`models.input.model.name` ->
    input: [model.name]); `models` or `models.input` alone are plain paths, not these."""
    out: dict[str, list[str]] = {}
    for f in fields:
        if not f.startswith(PREFIX):
            continue
        kind, dot, rest = f.removeprefix(PREFIX).partition(".")
        if kind in KINDS and dot and rest:
            out.setdefault(kind, []).append(rest)
    return out


def plain(fields: list[str]) -> list[str]:
    """The paths that are not into a model list's entries."""
    paths = asked(fields)
    return [
        f
        for f in fields
        if not (f.startswith(PREFIX) and f.removeprefix(PREFIX).partition(".")[0] in paths)
    ]


def _entries(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    entries = (doc.get("models") or {}).get(kind) or []
    return [e for e in entries if isinstance(e, dict)]


def model_ids(docs: list[dict[str, Any]], kinds: dict[str, list[str]]) -> list[str]:
    """The models the asked entries refer to (only when a path reaches into `model`)."""
    wanted = [k for k, paths in kinds.items() if any(p.startswith("model.") for p in paths)]
    return sorted(
        {
            m
            for d in docs
            for k in wanted
            for e in _entries(d, k)
            if isinstance(m := e.get("model"), str) and m
        }
    )


def task_ids(models: dict[str, dict[str, Any]], kinds: dict[str, list[str]]) -> list[str]:
    """The tasks the joined models were made by (only when a path reaches into model.task)."""
    if not any(p.startswith("model.task.") for paths in kinds.values() for p in paths):
        return []
    return sorted({t for m in models.values() if isinstance(t := m.get("task"), str) and t})


def _model(
    key: str, models: dict[str, dict[str, Any]], tasks: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The model as its joined document: an unknown (deleted) model is `{id}`."""
    model = dict(models.get(key, {}))
    task = model.get("task")
    if isinstance(task, str) and task:
        found = tasks.get(task, {})
        joined: dict[str, Any] = {"id": task}
        if "name" in found:
            joined["name"] = found["name"]
        if isinstance(found.get("project"), str) and found["project"]:
            joined["project"] = {"id": found["project"]}
        model["task"] = joined
    return {**model, "id": key}


def with_models(
    shaped: list[dict[str, Any]],
    docs: list[dict[str, Any]],
    kinds: dict[str, list[str]],
    models: dict[str, dict[str, Any]],
    tasks: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each shaped task's asked model lists, in place; `docs` are the same tasks in full, in
    the same order."""
    for out, doc in zip(shaped, docs, strict=True):
        for kind, paths in kinds.items():
            entries = []
            for entry in _entries(doc, kind):
                full = dict(entry)
                key = entry.get("model")
                if isinstance(key, str) and key:
                    full["model"] = _model(key, models, tasks)
                cut = only_fields(full, paths)
                cut.pop("id", None)  # an entry has no id of its own
                if isinstance(cut.get("model"), dict) and isinstance(key, str) and key:
                    cut["model"]["id"] = key  # a joined document always carries its id
                entries.append(cut)
            out.setdefault("models", {})[kind] = entries
    return shaped
