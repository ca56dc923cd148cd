"""The tenant of the streams a batch touches: from their states (the stream's creation), never
from the log's company column, which streams hashed under chain rule 1 do not cover."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.models import model_of
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState


def companies(
    conn: psycopg.Connection[Any], tasks: Iterable[str], states: Mapping[str, TaskState]
) -> dict[str, str]:
    """Each task's company, from its state; a task missing there, from the `tasks` table.

    Not from the event row's `company` column, which the hash chain does not cover. The
    tasks projector runs first and leaves every task of the batch in `states` (the service
    loads the locked rows into it too), so the table is read only when a projector is
    replayed on its own; a task missing from both was deleted, and is left out.
    """
    wanted = set(tasks)
    found = {t: states[t].company for t in wanted if t in states}
    missing = sorted(wanted - set(found))
    if missing:
        rows = conn.execute("SELECT id, company FROM tasks WHERE id = ANY(%s)", (missing,))
        found.update({r[0]: r[1] for r in rows.fetchall()})
    return found


def tenant(record: Recorded, states: Mapping[str, TaskState]) -> str:
    """The tenant of a record's stream: the company its creation event named (the folded task
    state, when the tasks projector ran first), else the one in the event's hashed metadata,
    which the chain rules hold equal to it (domain/chain.py). Never the log's company column,
    which streams hashed under rule 1 do not cover."""
    state = states.get(record.stream_id)
    return record.metadata.company if state is None else state.company


def replayed_owner(stream: Any) -> tuple[str, str] | None:
    """Whose rows a replayed stream makes, (id, company): a live task's, or a live model's
    (its events reported with `model_event`, keyed by the model's id); None for the others."""
    state = stream.state
    if state is not None:
        return None if state.deleted else (stream.id, state.company)
    records = stream.records
    if stream.kind != "model" or not records:
        return None
    if any(isinstance(r.event, ev.ModelDeleted) for r in records):
        return None
    return model_of(stream.id), records[0].metadata.company
