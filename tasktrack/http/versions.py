"""What clients of older API versions send and see differently, converted by the version asked.

ClearML keeps old clients working by converting at the edge, and so does tasktrack:
- before 2.3, an entity had one `tags` list: a request's tags that are system tags of that
  kind of entity (`archived`, `development`, ...) go to `system_tags`, and answers show both
  lists merged in `tags` (system_tags stay too);
- before 2.9, parameters lived in `execution.parameters` and the model description in
  `execution.model_desc`: tasks are answered with their legacy hyperparams and configuration
  items (domain/legacy.py, which stores them whatever the version) copied back there.
Requests at 2.9 and later pass untouched, and no work is done for them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain import legacy
from tasktrack.domain.values import Configuration, HyperParams
from tasktrack.queries.shaping import clearml_json

Version = tuple[int, int]

SPLIT_TAGS: Version = (2, 3)  # from here on, system tags have their own field
NEW_PARAMS: Version = (2, 9)  # from here on, hyperparams and configuration replace legacy


def _names(*names: str) -> frozenset[str]:
    return frozenset(names) | frozenset(f"-{n}" for n in names)


# The system tags an old client's `tags` may hold, per kind of entity (a `-` excludes in a
# filter), and for tasks the prefix of annotation tags.
_SYSTEM_TAGS = {
    "tasks": _names("active", "archived", "development"),
    "models": _names("active", "archived"),
    "projects": _names("archived", "public", "default"),
    "queues": _names("default"),
}
_SYSTEM_PREFIXES = {"tasks": ("annotat", "-annotat")}

# Where each service's answers hold their documents.
_DOCUMENTS = {
    "tasks": ("task", "tasks"),
    "models": ("model", "models"),
    "projects": ("project", "projects"),
    "queues": ("queue", "queues"),
}
_TASK_READS = frozenset(
    {"tasks.get_by_id", "tasks.get_all", "tasks.get_all_ex", "tasks.get_by_id_ex"}
)

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def parse(version: str | None) -> Version | None:
    """(major, minor) of a `2.9`-like version; None when none was asked (the newest)."""
    if not version:
        return None
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def _older(version: str | None, than: Version) -> bool:
    asked = parse(version)
    return asked is not None and asked < than


def partition_tags(service: str, tags: list[str]) -> tuple[list[str], list[str]]:
    """(tags, system_tags) of an old client's tags for an entity of `service`."""
    names = _SYSTEM_TAGS.get(service, frozenset())
    prefixes = _SYSTEM_PREFIXES.get(service, ())
    system = {t for t in tags if t in names or t.lower().startswith(prefixes)}
    return sorted(set(tags) - system), sorted(system)


def request(version: str | None, endpoint: str, body: bytes) -> bytes:
    """The body as the current version reads it."""
    service = endpoint.partition(".")[0]
    if service not in _SYSTEM_TAGS or not _older(version, SPLIT_TAGS):
        return body
    try:
        data = _decoder.decode(body or b"{}")
    except msgspec.DecodeError:
        return body  # the endpoint's decoder says what is wrong with it
    if not isinstance(data, dict):
        return body
    tags = data.get("tags")
    if not isinstance(tags, list) or data.get("system_tags"):
        return body
    if not all(isinstance(t, str) for t in tags):
        return body
    data["tags"], data["system_tags"] = partition_tags(service, tags)
    return _encoder.encode(data)


def _documents(endpoint: str, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    found: list[dict[str, Any]] = []
    for key in _DOCUMENTS.get(endpoint.partition(".")[0], ()):
        value = data.get(key)
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            found.extend(d for d in value if isinstance(d, dict))
    return found


def _merge_tags(doc: dict[str, Any]) -> None:
    system = doc.get("system_tags")
    if system:
        doc["tags"] = sorted(set(doc.get("tags") or []) | set(system))


def _legacy_fields(doc: dict[str, Any]) -> None:
    params = legacy.legacy_parameters(msgspec.convert(doc.get("hyperparams") or {}, HyperParams))
    model_desc = legacy.legacy_model_desc(
        msgspec.convert(doc.get("configuration") or {}, Configuration)
    )
    for field, value in (("parameters", params), ("model_desc", model_desc)):
        if value:
            execution = doc.get("execution")
            if not isinstance(execution, dict):
                execution = doc["execution"] = {}
            execution[field] = value


def converts_answer(version: str | None, endpoint: str) -> bool:
    """Whether a client of `version` reads this endpoint's answers differently."""
    if endpoint.partition(".")[0] not in _DOCUMENTS:
        return False
    return _older(version, SPLIT_TAGS) or (endpoint in _TASK_READS and _older(version, NEW_PARAMS))


def answer(version: str | None, endpoint: str, data: Any) -> Any:
    """The answer as a client of `version` reads it."""
    if not converts_answer(version, endpoint):
        return data
    merge = _older(version, SPLIT_TAGS)
    params = endpoint in _TASK_READS and _older(version, NEW_PARAMS)
    data = clearml_json(data)
    for doc in _documents(endpoint, data):
        if merge:
            _merge_tags(doc)
        if params:
            _legacy_fields(doc)
    return data
