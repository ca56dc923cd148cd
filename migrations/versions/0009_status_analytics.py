"""Status analytics: SQL views of status intervals, durations, queue waits and a daily rollup.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

A migration defines what it touches itself; it never imports tasktrack's live metadata. The
views are defined here only (docs/analytics.md documents them); the live metadata does not know
them, so nothing creates them but this migration.

Every view is derived from `tasks` and `task_status_history` at query time: nothing to keep in
step, and a rebuild of the projections (TRUNCATE + INSERT) keeps them working. Their window
functions are partitioned by (company, task_id), so a filter on `company` or `task_id` is pushed
down to the base tables and uses their indexes (history: the primary key (task_id,
stream_version) and (company, at); tasks: the primary key and (company, …)); no new index is
needed (measured with EXPLAIN ANALYZE on 200k tasks and 1.2M status changes).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per stay in a status, [entered_at, left_at). The first is `created`, from the task's
# creation (its event is stream version 1) to its first change; each status change opens the
# next; the last has left_at NULL. Project, type and user_id are the task's current ones.
INTERVALS = """
CREATE VIEW task_status_intervals AS
SELECT
    i.task_id,
    t.company,
    t.project,
    t.type,
    t.user_id,
    i.seq,
    i.version,
    i.status,
    i.entered_at,
    i.left_at,
    i.next_status,
    i.entered_by,
    EXTRACT(EPOCH FROM i.left_at - i.entered_at)::double precision AS seconds,
    EXTRACT(EPOCH FROM COALESCE(i.left_at, now()) - i.entered_at)::double precision
        AS seconds_so_far
FROM (
    SELECT
        e.company,
        e.task_id,
        e.version,
        e.status,
        e.entered_at,
        e.entered_by,
        (row_number() OVER w - 1)::integer AS seq,
        lead(e.entered_at) OVER w AS left_at,
        lead(e.status) OVER w AS next_status
    FROM (
        SELECT company, id AS task_id, 1 AS version, 'created'::text AS status,
               created AS entered_at, user_id AS entered_by
        FROM tasks
        UNION ALL
        SELECT company, task_id, stream_version, to_status, at, user_id
        FROM task_status_history
    ) AS e
    WINDOW w AS (PARTITION BY e.company, e.task_id ORDER BY e.version)
) AS i
JOIN tasks AS t ON t.company = i.company AND t.id = i.task_id
"""

# Per task and status: how often it entered the status and how long it stayed there.
DURATIONS = """
CREATE VIEW task_status_durations AS
SELECT
    i.task_id,
    i.company,
    i.project,
    i.type,
    i.user_id,
    i.status,
    count(*) AS entries,
    EXTRACT(EPOCH FROM COALESCE(sum(i.left_at - i.entered_at), interval '0'))::double precision
        AS seconds,
    EXTRACT(EPOCH FROM sum(COALESCE(i.left_at, now()) - i.entered_at))::double precision
        AS seconds_so_far,
    bool_or(i.left_at IS NULL) AS is_current,
    min(i.entered_at) AS first_entered_at,
    max(i.entered_at) AS last_entered_at
FROM task_status_intervals AS i
GROUP BY i.company, i.task_id, i.project, i.type, i.user_id, i.status
"""

# One row per visit to the queue: consecutive `queued` intervals (a move to another queue is a
# queued -> queued change) form one visit. Only a visit that ended in in_progress has a start.
QUEUE_WAITS = """
CREATE VIEW task_queue_waits AS
SELECT
    v.task_id,
    v.company,
    v.project,
    v.type,
    v.user_id,
    v.queued_at,
    v.left_at,
    v.next_status,
    CASE WHEN v.next_status = 'in_progress' THEN v.left_at END AS started_at,
    CASE WHEN v.next_status = 'in_progress'
        THEN EXTRACT(EPOCH FROM v.left_at - v.queued_at)::double precision
    END AS wait_seconds,
    EXTRACT(EPOCH FROM v.left_at - v.queued_at)::double precision AS seconds,
    EXTRACT(EPOCH FROM COALESCE(v.left_at, now()) - v.queued_at)::double precision
        AS seconds_so_far,
    v.entries
FROM (
    SELECT
        r.company,
        r.task_id,
        r.project,
        r.type,
        r.user_id,
        min(r.entered_at) AS queued_at,
        (array_agg(r.left_at ORDER BY r.seq DESC))[1] AS left_at,
        (array_agg(r.next_status ORDER BY r.seq DESC))[1] AS next_status,
        count(*) AS entries
    FROM (
        -- consecutive queued intervals have consecutive seq: seq - row_number() is constant
        SELECT
            q.*,
            q.seq - row_number() OVER (PARTITION BY q.company, q.task_id ORDER BY q.seq)
                AS visit
        FROM task_status_intervals AS q
        WHERE q.status = 'queued'
    ) AS r
    GROUP BY r.company, r.task_id, r.visit, r.project, r.type, r.user_id
) AS v
"""

# Per company, project, type, user, UTC day and status: the intervals entered that day (each
# counts wholly on the day it was entered) and their time.
DAILY = """
CREATE VIEW status_daily AS
SELECT
    i.company,
    i.project,
    i.type,
    i.user_id,
    (i.entered_at AT TIME ZONE 'UTC')::date AS day,
    i.status,
    count(*) AS entries,
    count(*) FILTER (WHERE i.left_at IS NULL) AS open_entries,
    EXTRACT(EPOCH FROM COALESCE(sum(i.left_at - i.entered_at), interval '0'))::double precision
        AS seconds,
    EXTRACT(EPOCH FROM sum(COALESCE(i.left_at, now()) - i.entered_at))::double precision
        AS seconds_so_far
FROM task_status_intervals AS i
GROUP BY i.company, i.project, i.type, i.user_id, (i.entered_at AT TIME ZONE 'UTC')::date,
    i.status
"""

COMMENTS = {
    "task_status_intervals": "Each stay of a task in a status, [entered_at, left_at); "
    "left_at is NULL for the current one. See docs/analytics.md.",
    "task_status_durations": "Per task and status: entries and seconds spent (closed "
    "intervals; seconds_so_far counts the open one up to now()). See docs/analytics.md.",
    "task_queue_waits": "Each visit of a task to the queue: queued_at, started_at (when it "
    "went on to in_progress) and wait_seconds. See docs/analytics.md.",
    "status_daily": "Per company, project, type, user, UTC day entered and status: entries and "
    "seconds. See docs/analytics.md.",
}


def upgrade() -> None:
    for statement in (INTERVALS, DURATIONS, QUEUE_WAITS, DAILY):
        op.execute(statement)
    for view, comment in COMMENTS.items():
        quoted = comment.replace("'", "''")
        op.execute(f"COMMENT ON VIEW {view} IS '{quoted}'")


def downgrade() -> None:
    for view in ("status_daily", "task_queue_waits", "task_status_durations"):
        op.execute(f"DROP VIEW {view}")
    op.execute("DROP VIEW task_status_intervals")
