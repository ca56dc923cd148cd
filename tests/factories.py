"""Small builders of events and metadata for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tasktrack.domain.events import TaskCreated, TaskPinged
from tasktrack.domain.records import Metadata


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def meta(company: str = "co", user: str = "u1", **kw: Any) -> Metadata:
    return Metadata(user=user, company=company, **kw)


def created(task_id: str, company: str = "co", **kw: Any) -> TaskCreated:
    fields: dict[str, Any] = {
        "at": now(),
        "by": "u1",
        "task_id": task_id,
        "company": company,
        "name": "a task",
        "type": "training",
    }
    fields.update(kw)
    return TaskCreated(**fields)


def pinged(by: str = "u1") -> TaskPinged:
    return TaskPinged(at=now(), by=by)
