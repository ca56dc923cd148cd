"""tasktrack: an event-sourced task tracker on PostgreSQL that speaks ClearML's tasks API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasktrack.api import Client


def connect(url: str | None = None, **kwargs: Any) -> Client:
    """A Python API client (see tasktrack.api.connect); imported lazily to keep `import` cheap."""
    from tasktrack.api import connect as _connect  # noqa: PLC0415

    return _connect(url, **kwargs)
