"""Upcasters: functions that lift an old event payload one schema version, checked at start-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

# (event type, schema version it reads) -> function returning the payload at version + 1.
# Empty today: every event type is at version 1. The first entry will look like
#   ("TaskPinged", 1): lambda p: {**p, "source": "api"},
UPCASTERS: Mapping[tuple[str, int], Upcaster] = {}


class UpcasterGap(RuntimeError):
    """An event type's chain of upcasters does not reach its current schema version."""


def check_chains(
    current_versions: Mapping[str, int], upcasters: Mapping[tuple[str, int], Upcaster]
) -> None:
    """Every type at version N needs upcasters from 1 to N-1, and none for unknown versions."""
    problems: list[str] = []
    for type_name, current in current_versions.items():
        if current < 1:
            problems.append(f"{type_name}: schema_version must be >= 1, is {current}")
        problems.extend(
            f"{type_name}: no upcaster from version {v} to {v + 1}"
            for v in range(1, current)
            if (type_name, v) not in upcasters
        )
    for type_name, version in upcasters:
        known = current_versions.get(type_name)
        if known is None:
            problems.append(f"upcaster for unknown event type {type_name}")
        elif version >= known:
            problems.append(
                f"{type_name}: upcaster from version {version}, but the current version is {known}"
            )
    if problems:
        raise UpcasterGap("; ".join(sorted(problems)))


def upcast(
    type_name: str,
    version: int,
    payload: Payload,
    current: int,
    upcasters: Mapping[tuple[str, int], Upcaster],
) -> Payload:
    """Lift `payload` from `version` to `current`, one step at a time."""
    while version < current:
        payload = upcasters[(type_name, version)](payload)
        version += 1
    return payload
