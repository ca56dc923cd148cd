"""Queues as streams: their descriptive fields, stream head, and waiting lines.

Revision ID: 0018_queues
Revises: 0017_workers
Create Date: 2026-12-06

Queues gain the fields queues.create/update write and the head of their stream (the row is the
stream's snapshot, as a task's is), and `queue_entries` holds each queue's waiting line. Both
are filled from the queues' streams, as a replay of the log fills them: a log written before
this revision has only QueueCreated events (no line), one that went down and up again may hold
every queue event.

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0018_queues"
down_revision: str | None = "0017_workers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("queues", sa.Column("display_name", sa.Text()))
    op.add_column(
        "queues", sa.Column("tags", ARRAY(sa.Text()), nullable=False, server_default="{}")
    )
    op.add_column(
        "queues",
        sa.Column("system_tags", ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    op.add_column(
        "queues",
        sa.Column("metadata", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("queues", sa.Column("last_update", _TS))
    op.add_column("queues", sa.Column("stream_version", sa.Integer()))
    op.add_column("queues", sa.Column("head_hash", sa.LargeBinary()))
    op.add_column("queues", sa.Column("head_at", _TS))
    _backfill(op.get_bind())
    for column in ("last_update", "stream_version", "head_hash", "head_at"):
        op.alter_column("queues", column, nullable=False)
    _create_entries()
    _fill_entries(op.get_bind())


def _create_entries() -> None:
    op.create_table(
        "queue_entries",
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("queue_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("added", _TS, nullable=False),
        sa.PrimaryKeyConstraint("company", "queue_id", "task_id", name="queue_entries_pkey"),
    )
    op.create_index(
        "queue_entries_company_queue_id_rank_idx",
        "queue_entries",
        ["company", "queue_id", "rank"],
    )
    op.create_index("queue_entries_company_task_id_idx", "queue_entries", ["company", "task_id"])


def _queue_streams(bind: sa.engine.Connection) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each live queue's events (type, payload), in version order."""
    rows = bind.execute(
        sa.text(
            "SELECT stream_id, type, data::text FROM events "
            "WHERE stream_id IN (SELECT id FROM queues) ORDER BY stream_id, stream_version"
        )
    )
    streams: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for stream_id, kind, data in rows:
        streams.setdefault(stream_id, []).append((kind, json.loads(data)))
    return streams


def _metadata(held: list[dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
    upserted = data.get("upserted", [])
    gone = set(data.get("deleted", [])) | {m["key"] for m in upserted}
    kept = [] if data.get("replace") else held
    return [m for m in kept if m["key"] not in gone] + upserted


def _fold(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The row's fields that a queue's events set (as domain/queues.py folds them)."""
    fields: dict[str, Any] = {"metadata": []}
    for kind, data in events:
        fields["last_update"] = data["at"]
        if kind == "QueueCreated":
            fields["display_name"] = data.get("display_name")
            fields["tags"] = sorted(set(data.get("tags", [])))
            fields["system_tags"] = sorted(set(data.get("system_tags", [])))
            fields["metadata"] = data.get("metadata", [])
        elif kind == "QueueUpdated":
            for key, value in data.get("changes", {}).items():
                fields[key] = sorted(set(value)) if key.endswith("tags") else value
        elif kind == "QueueMetadataChanged":
            fields["metadata"] = _metadata(fields["metadata"], data)
    return fields


def _backfill(bind: sa.engine.Connection) -> None:
    """The new columns from each queue's stream: its head, and what its events set. A log
    written before this revision has only QueueCreated events; one that went down and up
    again may hold every queue event."""
    heads = bind.execute(
        sa.text(
            "SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash, recorded_at "
            "FROM events WHERE stream_id IN (SELECT id FROM queues) "
            "ORDER BY stream_id, stream_version DESC"
        )
    ).fetchall()
    streams = _queue_streams(bind)
    for stream_id, version, digest, head_at in heads:
        fields = _fold(streams.get(stream_id, []))
        bind.execute(
            sa.text(
                "UPDATE queues SET name = coalesce(:name, name), display_name = :display_name, "
                "tags = :tags, system_tags = :system_tags, metadata = CAST(:metadata AS jsonb), "
                "last_update = CAST(:last_update AS timestamptz), stream_version = :version, "
                "head_hash = :digest, head_at = :head_at WHERE id = :id"
            ),
            {
                "name": fields.get("name"),
                "display_name": fields.get("display_name"),
                "tags": fields.get("tags", []),
                "system_tags": fields.get("system_tags", []),
                "metadata": json.dumps(fields["metadata"]),
                "last_update": fields["last_update"],
                "version": version,
                "digest": digest,
                "head_at": head_at,
                "id": stream_id,
            },
        )


def _line(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """A queue's waiting line (as domain/queues.py's `line` folds it)."""
    line: list[dict[str, Any]] = []
    for kind, data in events:
        if kind == "QueueTaskAdded":
            rank = max((e["rank"] for e in line), default=0) + 1
            line.append({"task": data["task"], "added": data["at"], "rank": rank})
        elif kind in ("QueueTaskRemoved", "QueueTaskHandedOut"):
            line = [e for e in line if e["task"] != data["task"]]
        elif kind == "QueueTaskMoved":
            order = sorted(line, key=lambda e: int(e["rank"]))
            entry = next(e for e in order if e["task"] == data["task"])
            rest = [e for e in order if e["task"] != data["task"]]
            rest.insert(min(max(int(data["position"]), 0), len(rest)), entry)
            line = [{**e, "rank": i} for i, e in enumerate(rest, start=1)]
        elif kind == "QueueDeleted":
            line = []
    return line


def _fill_entries(bind: sa.engine.Connection) -> None:
    """Each queue's line from its stream (empty for a log written before this revision)."""
    company = {r[0]: r[1] for r in bind.execute(sa.text("SELECT id, company FROM queues"))}
    for stream_id, events in _queue_streams(bind).items():
        for e in _line(events):
            bind.execute(
                sa.text(
                    "INSERT INTO queue_entries (company, queue_id, task_id, rank, added) "
                    "VALUES (:company, :queue, :task, :rank, CAST(:added AS timestamptz))"
                ),
                {"company": company[stream_id], "queue": stream_id, **e},
            )


def downgrade() -> None:
    op.drop_index("queue_entries_company_task_id_idx", table_name="queue_entries")
    op.drop_index("queue_entries_company_queue_id_rank_idx", table_name="queue_entries")
    op.drop_table("queue_entries")
    for column in (
        "head_at",
        "head_hash",
        "stream_version",
        "last_update",
        "metadata",
        "system_tags",
        "tags",
        "display_name",
    ):
        op.drop_column("queues", column)
