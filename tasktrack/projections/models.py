"""`models`: one row per live model, the fold of its stream (and the stream's head).

The same fast path as tasks: per batch, the rows of the models it continues are read once, the
events folded in memory, and the rows written back in one executemany (deleted models removed).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import psycopg

from tasktrack.domain import events as ev
from tasktrack.domain.models import ModelState, evolve, model_of
from tasktrack.domain.records import Recorded, StreamHead
from tasktrack.domain.state import TaskState
from tasktrack.projections import pinning
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store import modelrows


class ModelsProjector(StreamReplay):
    """Keeps `models` equal to the fold of every live model's stream."""

    kinds = frozenset({"model"})
    name = "models"

    def __init__(self, table: str = "models") -> None:
        self.table = table
        self._upsert = modelrows.upsert_sql(table)

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        mine = [r for r in batch if isinstance(r.event, ev.MODEL_EVENTS)]
        if not mine:
            return
        # The tenant of a stream is the company of its metadata (domain/chain.py checks that
        # every event of a stream names the same one), so it keys the row read back.
        continued = {
            (r.metadata.company, model_of(r.stream_id))
            for r in mine
            if not isinstance(r.event, ev.ModelCreated)
        }
        models: dict[str, ModelState | None] = {
            k: row.state for k, row in modelrows.load_keys(conn, continued, self.table).items()
        }
        last: dict[str, Recorded] = {}
        for record in mine:
            model_id = model_of(record.stream_id)
            models[model_id] = evolve(models.get(model_id), record.event)
            last[model_id] = record
        rows = []
        gone = []
        for model_id, record in last.items():
            state = models[model_id]
            assert state is not None
            if state.deleted:
                gone.append((state.company, model_id))
                continue
            head = StreamHead(record.stream_version, record.hash)
            rows.append(modelrows.row_params(state, head, record.recorded_at))
        if rows:
            with conn.cursor() as cur:
                cur.executemany(self._upsert, rows)
        if gone:
            where, params = pinning.keys_where("id", gone)
            conn.execute(f"DELETE FROM {self.table} WHERE {where}", params)

    def replay(self, stream: Stream, out: Rows) -> None:
        """A live model's row, once, from the fold of its whole stream."""
        mine = [r for r in stream.records if isinstance(r.event, ev.MODEL_EVENTS)]
        state: ModelState | None = None
        for record in mine:
            state = evolve(state, record.event)
        if state is None or state.deleted:
            return
        head = StreamHead(mine[-1].stream_version, mine[-1].hash)
        out.add(
            self.table, modelrows.COLUMNS, modelrows.row_params(state, head, mine[-1].recorded_at)
        )
