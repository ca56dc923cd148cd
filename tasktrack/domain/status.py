"""The status machine: which status may follow which, without `force` (SEMANTICS §2)."""

from __future__ import annotations

from collections.abc import Mapping

from tasktrack.domain.errors import InvalidTaskStatus
from tasktrack.domain.events import StatusChange
from tasktrack.domain.values import Status

ALLOWED: Mapping[Status, frozenset[Status]] = {
    "created": frozenset({"queued", "in_progress"}),
    "queued": frozenset({"created", "in_progress", "stopped"}),
    "in_progress": frozenset({"stopped", "failed", "created", "completed"}),
    "stopped": frozenset(
        {
            "closed",
            "created",
            "failed",
            "queued",
            "in_progress",
            "published",
            "publishing",
            "completed",
        }
    ),
    "closed": frozenset({"created", "failed", "published", "publishing", "stopped"}),
    "failed": frozenset({"created", "stopped", "published", "queued"}),
    "publishing": frozenset({"published"}),
    "completed": frozenset({"published", "in_progress", "created"}),
    "published": frozenset(),
    # Deviation: ClearML answers 500 for a change away from unknown; tasktrack says 400/110.
    "unknown": frozenset(),
}


def allowed(current: Status, new: Status) -> bool:
    """True if `new` may follow `current` without force (the same status always may)."""
    return current == new or new in ALLOWED[current]


def require(current: Status, new: Status, *, force: bool) -> None:
    """Raise 400/110 unless the change is allowed or forced."""
    if not force and not allowed(current, new):
        raise InvalidTaskStatus(
            f"Invalid task status: current_status={current}, new_status={new}",
            current_status=current,
            new_status=new,
        )


def change(current: Status, new: Status, *, force: bool, reason: str, message: str) -> StatusChange:
    """A checked status change (raises 400/110 when the table refuses it)."""
    require(current, new, force=force)
    return StatusChange(
        from_status=current, to_status=new, reason=reason, message=message, force=force
    )
