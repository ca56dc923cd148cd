"""The log and read models as tests check them: the head a refused call must leave alone, a
checksum of every read model, and what a stream records (who did what)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, text

# Every table but the log itself (its head stands for it) and the credentials a test makes.
READ_MODELS = (
    "tasks",
    "task_status_history",
    "task_metrics",
    "queues",
    "queue_entries",
    "projects",
    "activity_daily",
    "activity_task_projects",
    "projector_checkpoints",
    "idempotency_keys",
)


def log_head(engine: Engine) -> tuple[int | None, int]:
    """(highest position, number of events): any append moves both."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT max(position), count(*) FROM events")).one()
    return row[0], int(row[1])


def stream_actions(engine: Engine, stream_id: str) -> list[tuple[str, str]]:
    """(event type, acting user) of each event of a stream, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT type, metadata->>'user' FROM events WHERE stream_id = :s "
                "ORDER BY stream_version"
            ),
            {"s": stream_id},
        )
        return [(str(r[0]), str(r[1])) for r in rows]


def fingerprint(engine: Engine) -> dict[str, Any]:
    """The log's head and an md5 of each read model's rows (in a stable order)."""
    sums = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t)"
        for name in READ_MODELS
    )
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT {sums}")).one()
    return {"events": log_head(engine), **dict(zip(READ_MODELS, row, strict=True))}


def envelope_problem(response: httpx.Response) -> str | None:
    """Why a response is not a valid ClearML envelope agreeing with its status, if it is not."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"content-type {response.headers.get('content-type')!r}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"meta", "data"}:
        return f"not {{meta, data}}: {response.text[:200]!r}"
    meta = body["meta"]
    if not isinstance(meta, dict):
        return "meta is not an object"
    if meta.get("result_code") != response.status_code:
        return f"result_code {meta.get('result_code')} != HTTP {response.status_code}"
    kinds = {"result_subcode": int, "result_msg": str, "id": str, "endpoint": dict}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind):
            return f"meta.{key} is {meta.get(key)!r}"
    return None
