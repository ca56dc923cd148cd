"""ClearML's legacy parameter fields: execution.parameters and execution.model_desc.

Clients of API versions before 2.9 keep a task's parameters in `execution.parameters` (a flat
map; a `TF_DEFINE/` prefix names the TF_DEFINE section) and its model description in
`execution.model_desc`. As ClearML, whatever the version of the request, they are stored as
hyperparams (section `Args`, or `TF_DEFINE`) and configuration items of type `legacy`, never in
the execution; an edit that gives them replaces the task's earlier legacy items. Showing them
in the old place again, to old clients, is the HTTP layer's (http/versions.py).
"""

from __future__ import annotations

from typing import Any

from msgspec import UnsetType

from tasktrack.domain.errors import InvalidRequest
from tasktrack.domain.values import ConfigItem, Configuration, HyperParams, ParamItem

DEFAULT_SECTION = "Args"
TF_DEFINE = "TF_DEFINE"
LEGACY_TYPE = "legacy"


def _text(value: Any) -> str:
    # ClearML stores str(value): old clients sent strings, anything else reads as Python does.
    return value if isinstance(value, str) else str(value)


def _split_name(full_name: str) -> tuple[str, str]:
    """(section, name): `TF_DEFINE/x` is x in TF_DEFINE, anything else keeps its whole name
    in the default section."""
    section, _, name = full_name.partition("/")
    if section != TF_DEFINE:
        return DEFAULT_SECTION, full_name
    if not name:
        raise InvalidRequest(
            "Validation error: Parameter name cannot be empty", field="execution.parameters"
        )
    return section, name


def _without_legacy_params(previous: HyperParams) -> tuple[HyperParams, int]:
    """The task's hyperparams without their legacy items (sections left empty go), and how
    many were removed."""
    kept: HyperParams = {}
    removed = 0
    for section, items in previous.items():
        left = {n: i for n, i in items.items() if i.type != LEGACY_TYPE}
        removed += len(items) - len(left)
        if left:
            kept[section] = left
    return kept, removed


def _without_legacy_config(previous: Configuration) -> tuple[Configuration, int]:
    kept = {n: i for n, i in previous.items() if i.type != LEGACY_TYPE}
    return kept, len(previous) - len(kept)


def hyperparams(
    legacy: dict[str, Any] | UnsetType,
    given: HyperParams | UnsetType,
    previous: HyperParams | None,
) -> HyperParams | UnsetType:
    """The hyperparams a request means: `given` with `legacy` (execution.parameters) added as
    items of type legacy. Without `given`, an edit's legacy parameters replace the task's
    earlier legacy items (`previous`) and keep the rest."""
    if isinstance(legacy, UnsetType):
        return given
    if given:
        target = {section: dict(items) for section, items in given.items()}
    elif previous:
        target, removed = _without_legacy_params(previous)
        if not legacy and not removed:
            return given
    elif not legacy:
        return given
    else:
        target = {}
    for full_name, value in legacy.items():
        section, name = _split_name(full_name)
        item = ParamItem(section=section, name=name, value=_text(value), type=LEGACY_TYPE)
        target.setdefault(section, {})[name] = item
    return target


def configuration(
    legacy: dict[str, Any] | UnsetType,
    given: Configuration | UnsetType,
    previous: Configuration | None,
) -> Configuration | UnsetType:
    """The configuration a request means: `given` with `legacy` (execution.model_desc) added
    as items of type legacy; as `hyperparams`, an edit's replace the earlier legacy items."""
    if isinstance(legacy, UnsetType):
        return given
    if given:
        target = dict(given)
    elif previous:
        target, removed = _without_legacy_config(previous)
        if not legacy and not removed:
            return given
    elif not legacy:
        return given
    else:
        target = {}
    for name, value in legacy.items():
        target[name] = ConfigItem(name=name, value=_text(value), type=LEGACY_TYPE)
    return target


def legacy_parameters(params: HyperParams | None) -> dict[str, str]:
    """execution.parameters as an old client reads it: every legacy item, by its full name."""
    found: dict[str, str] = {}
    for section, items in (params or {}).items():
        for name, item in items.items():
            if item.type == LEGACY_TYPE:
                full = f"{TF_DEFINE}/{name}" if section == TF_DEFINE else name
                found[full] = item.value if isinstance(item.value, str) else ""
    return found


def legacy_model_desc(config: Configuration | None) -> dict[str, str]:
    """execution.model_desc as an old client reads it: every legacy configuration item."""
    return {
        name: item.value if isinstance(item.value, str) else ""
        for name, item in (config or {}).items()
        if item.type == LEGACY_TYPE
    }
