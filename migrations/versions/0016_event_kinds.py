"""Reported events of other kinds (plots, debug images, vectors): their read model; console
lines' metric and variant.

Revision ID: 0016_event_kinds
Revises: 0015_delmove
Create Date: 2026-12-06

`task_reported_events` holds each live task's plots, debug images and vectors of its current
run, the later report of a (type, metric, variant, iter, key) replacing the earlier. Reports
written before this revision (TaskEventsReported, payloads in the task's stream) are backfilled
here as a replay makes them: per live task, since its last reset, numbered in arrival order
(and so are those of TaskEventsStored, for a database downgraded below this and upgraded).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import op

revision: str = "0016_event_kinds"
down_revision: str | None = "0015_delmove"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(body: dict[str, Any]) -> tuple[str, str, str, int, str]:
    def text(v: Any) -> str:
        return v if isinstance(v, str) else ""

    it, key = body.get("iter"), body.get("key")
    return (
        text(body.get("type")),
        text(body.get("metric")),
        text(body.get("variant")),
        it if isinstance(it, int) and not isinstance(it, bool) else 0,
        "" if key is None else str(key),
    )


def _timestamp(body: dict[str, Any]) -> int:
    ts = body.get("timestamp")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        try:
            return int(ts)
        except (OverflowError, ValueError):
            return 0
    return 0


def upgrade() -> None:
    op.create_table(
        "task_reported_events",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("task_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("iter", sa.BigInteger, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "company",
            "task_id",
            "type",
            "metric",
            "variant",
            "iter",
            "key",
            name="task_reported_events_pkey",
        ),
    )
    # Console lines may name a metric and variant (none did before: "" for every stored one).
    op.add_column("task_log_lines", sa.Column("metric", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "task_log_lines", sa.Column("variant", sa.Text, nullable=False, server_default="")
    )
    op.create_index(
        "task_reported_events_company_task_id_type_iter_idx",
        "task_reported_events",
        ["company", "task_id", "type", "iter"],
    )
    conn = op.get_bind()
    # The payloads of both forms (TaskEventsReported before this revision, TaskEventsStored
    # since: a database downgraded below it and upgraded again has those), and what clears
    # them (a reset, events.delete_for_task); live tasks only.
    rows = conn.execute(
        sa.text(
            "SELECT t.company, e.stream_id, e.type, e.data::text FROM events e "
            "JOIN tasks t ON t.id = e.stream_id "
            "WHERE e.type IN ('TaskEventsReported', 'TaskEventsStored', 'TaskReset', "
            "'TaskEventsDeleted') AND e.stream_id IN (SELECT stream_id FROM events "
            "WHERE type IN ('TaskEventsReported', 'TaskEventsStored')) "
            "ORDER BY e.stream_id, e.stream_version"
        )
    )
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for company, task, kind, data in rows:
        bodies = found.setdefault((company, task), [])
        if kind in ("TaskReset", "TaskEventsDeleted"):
            bodies.clear()
        else:
            bodies.extend(msgspec.json.decode(data)["events"])
    out = []
    for (company, task), bodies in found.items():
        latest: dict[tuple[str, str, str, int, str], dict[str, Any]] = {}
        for seq, body in enumerate(bodies, start=1):
            key = _key(body)
            latest.pop(key, None)
            url = body.get("url")
            latest[key] = {
                "company": company,
                "task_id": task,
                "type": key[0],
                "metric": key[1],
                "variant": key[2],
                "iter": key[3],
                "key": key[4],
                "seq": seq,
                "timestamp": _timestamp(body),
                "url": url if isinstance(url, str) else None,
                # msgspec's encoding of the decoded event, as the projector writes it.
                "body": msgspec.json.encode(body).decode(),
            }
        out.extend(latest.values())
    if out:
        conn.execute(
            sa.text(
                "INSERT INTO task_reported_events (company, task_id, type, metric, variant, "
                "iter, key, seq, timestamp, url, body) VALUES (:company, :task_id, :type, "
                ":metric, :variant, :iter, :key, :seq, :timestamp, :url, :body)"
            ),
            out,
        )


def downgrade() -> None:
    op.drop_column("task_log_lines", "variant")
    op.drop_column("task_log_lines", "metric")
    op.drop_table("task_reported_events")
