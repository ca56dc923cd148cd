"""`activity_daily`: status changes, completions, failures and metric reports per project per day.

A catch-up projector: the runner feeds it the log in commit-safe order and writes its
checkpoint in the same transaction. It remembers each task's project itself
(`activity_task_projects`), from the log alone, so a rebuild needs nothing but the log; a
task's tenant is the one its creation event names, never the log's company column. Counts are
of what happened: a task deleted later keeps its past activity in the rollup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping, Sequence
from datetime import UTC, date
from typing import Any

import psycopg
from msgspec import UNSET

from tasktrack.domain import events as ev
from tasktrack.domain.records import Recorded
from tasktrack.domain.state import TaskState
from tasktrack.projections.base import Rows, Stream, StreamReplay
from tasktrack.store.tables import ACTIVITY_COUNTERS

NO_PROJECT = ""
_COUNTERS = ACTIVITY_COUNTERS


class ActivityProjector(StreamReplay):
    name = "activity_daily"

    def __init__(
        self, daily: str = "activity_daily", task_projects: str = "activity_task_projects"
    ) -> None:
        self.daily = daily
        self.task_projects = task_projects
        self._counts: Counter[tuple[str, str, date, str]] = Counter()  # a replay's, so far

    def _projects_of(
        self, conn: psycopg.Connection[Any], tasks: set[str]
    ) -> dict[str, tuple[str, str]]:
        rows = conn.execute(
            f"SELECT task_id, company, project FROM {self.task_projects} WHERE task_id = ANY(%s)",
            (list(tasks),),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def apply(
        self,
        conn: psycopg.Connection[Any],
        batch: Sequence[Recorded],
        states: MutableMapping[str, TaskState],
    ) -> None:
        known = self._projects_of(conn, {r.stream_id for r in batch})
        moved: dict[str, tuple[str, str] | None] = {}
        counts: Counter[tuple[str, str, date, str]] = Counter()
        for record in batch:
            _fold(record, known, moved, counts)
        self._write_projects(conn, moved)
        self._write_counts(conn, counts)

    # The replay's fast path: a task's whole stream folds with the same `_fold`; its project
    # row goes out at the stream's end, and the day counts, which add up across tasks (one row
    # per project and day: small), when every stream has been seen.

    def replay(self, stream: Stream, out: Rows) -> None:
        known: dict[str, tuple[str, str]] = {}
        for record in stream.records:
            _fold(record, known, {}, self._counts)
        where = known.get(stream.id)
        if where is not None:
            out.add(self.task_projects, ("task_id", "company", "project"), (stream.id, *where))

    def replay_done(self, out: Rows) -> None:
        for key, row in _rows(self._counts).items():
            out.add(self.daily, ("company", "project", "day", *_COUNTERS), (*key, *row.values()))
        self._counts.clear()

    def _write_projects(
        self, conn: psycopg.Connection[Any], moved: dict[str, tuple[str, str] | None]
    ) -> None:
        gone = [t for t, where in moved.items() if where is None]
        kept = [(t, where) for t, where in moved.items() if where is not None]
        if gone:
            conn.execute(f"DELETE FROM {self.task_projects} WHERE task_id = ANY(%s)", (gone,))
        if kept:
            conn.execute(
                f"INSERT INTO {self.task_projects} (task_id, company, project) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) "
                "ON CONFLICT (company, task_id) DO UPDATE SET project = EXCLUDED.project",
                ([t for t, _ in kept], [w[0] for _, w in kept], [w[1] for _, w in kept]),
            )

    def _write_counts(
        self, conn: psycopg.Connection[Any], counts: Counter[tuple[str, str, date, str]]
    ) -> None:
        rows = _rows(counts)
        if not rows:
            return
        keys = list(rows)
        # One set-based upsert per batch: the batch's sums are added to the stored ones.
        conn.execute(
            f"INSERT INTO {self.daily} AS d (company, project, day, {', '.join(_COUNTERS)}) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], "
            + ", ".join(["%s::int8[]"] * len(_COUNTERS))
            + ") ON CONFLICT (company, project, day) DO UPDATE SET "
            + ", ".join(f"{c} = d.{c} + EXCLUDED.{c}" for c in _COUNTERS),
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                *([rows[k][c] for k in keys] for c in _COUNTERS),
            ),
        )


def _fold(
    record: Recorded,
    known: dict[str, tuple[str, str]],
    moved: dict[str, tuple[str, str] | None],
    counts: Counter[tuple[str, str, date, str]],
) -> None:
    """One event into the counts: `known` holds each task's (company, project) so far, and
    `moved` collects the tasks whose project row changed (None: deleted)."""
    e = record.event
    task = record.stream_id
    if isinstance(e, ev.TaskCreated):
        known[task] = moved[task] = (e.company, e.project or NO_PROJECT)
    elif isinstance(e, ev.TaskEdited | ev.TaskUpdated) and e.changes.project is not UNSET:
        if task not in known:
            return  # no creation seen: not a live task stream
        known[task] = moved[task] = (known[task][0], e.changes.project or NO_PROJECT)
    elif isinstance(e, ev.TaskMoved):
        if task not in known:
            return
        known[task] = moved[task] = (known[task][0], e.project or NO_PROJECT)
    elif isinstance(e, ev.TaskDeleted):
        moved[task] = None
    where = known.get(task)
    if where is None:
        return  # not a task stream (queues, projects)
    created = isinstance(e, ev.TaskCreated)
    change = ev.status_change(e)
    if created or change is not None or isinstance(e, ev.MetricsReported):
        # (most events, pings above all, count nothing and skip the date)
        key = (where[0], where[1], e.at.astimezone(UTC).date())
        if created:
            counts[(*key, "tasks_created")] += 1
        if change is not None:
            counts[(*key, "status_changes")] += 1
            if change.to_status in ("completed", "failed"):
                counts[(*key, change.to_status)] += 1
        if isinstance(e, ev.MetricsReported):
            counts[(*key, "metric_reports")] += 1
            counts[(*key, "metric_points")] += len(e.series)
    if isinstance(e, ev.TaskDeleted):
        known.pop(task, None)


def _rows(
    counts: Counter[tuple[str, str, date, str]],
) -> dict[tuple[str, str, date], dict[str, int]]:
    """The counts as one row per (company, project, day), every counter in _COUNTERS order."""
    rows: dict[tuple[str, str, date], dict[str, int]] = {}
    for (company, project, day, counter), n in counts.items():
        rows.setdefault((company, project, day), dict.fromkeys(_COUNTERS, 0))[counter] += n
    return rows
