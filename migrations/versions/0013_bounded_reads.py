"""Bounded reads of a task's log and series: task_log_lines, task_metric_points (with running
totals), task_metric_series and task_runs, backfilled from the log.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-29

events.get_task_log and events.scalar_metrics_iter_histogram decoded every event of the
task's stream on every request; they now page these tables in SQL (docs/architecture.md,
"Bounded reads"). A database that already has events gets the tables filled here, in SQL,
from the events' payloads: the same rows the inline projectors would have written (the
integration test downgrades, upgrades and verifies against a replay).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tenant of every live task stream, from its creation (not from events.company, which the
# hash chain does not cover); a deleted task has no rows in any read model.
_LIVE = """
live AS (
    SELECT e.stream_id AS task_id, e.data->>'company' AS company
    FROM events e
    WHERE e.type = 'TaskCreated' AND e.stream_version = 1
      AND e.stream_id NOT IN (SELECT d.stream_id FROM events d WHERE d.type = 'TaskDeleted')
)"""

# A console line's level, worker and msg are stored as JSON strings when the JSON text of one
# of them holds the escape of a NUL (text cannot hold it); the projector applies the same rule.
_NUL = "'\\u0000'"
_LOG_LINES = f"""
WITH {_LIVE}, lines AS (
    SELECT live.company, e.stream_id AS task_id, e.stream_version, l.*,
        strpos(l.level::text, {_NUL}) > 0 OR strpos(l.worker::text, {_NUL}) > 0
            OR strpos(l.msg::text, {_NUL}) > 0 AS json_encoded
    FROM live
    JOIN events e ON e.stream_id = live.task_id AND e.type = 'TaskLogged'
    CROSS JOIN LATERAL ROWS FROM (
        json_array_elements(e.data->'timestamps'), json_array_elements(e.data->'levels'),
        json_array_elements(e.data->'workers'), json_array_elements(e.data->'msgs'),
        json_array_elements(e.data->'iters')
    ) WITH ORDINALITY AS l(ts, level, worker, msg, it, i)
)
INSERT INTO task_log_lines (company, task_id, seq, timestamp, level, worker, msg, iter,
    json_encoded)
SELECT company, task_id,
    row_number() OVER (PARTITION BY company, task_id ORDER BY stream_version, i),
    (ts #>> '{{}}')::bigint,
    CASE WHEN json_encoded THEN level::text ELSE level #>> '{{}}' END,
    CASE WHEN worker::text = 'null' THEN NULL
        WHEN json_encoded THEN worker::text ELSE worker #>> '{{}}' END,
    CASE WHEN json_encoded THEN msg::text ELSE msg #>> '{{}}' END,
    (it #>> '{{}}')::bigint,
    json_encoded
FROM lines
"""

# Every point, the later report of a (run, metric, variant, iteration) winning, then the
# running totals in iteration order. A point's run is the number of resets before it.
_POINTS = f"""
WITH {_LIVE}, reports AS (
    SELECT e.stream_id, e.stream_version, e.type, e.data,
        sum((e.type = 'TaskReset')::int) OVER (
            PARTITION BY e.stream_id ORDER BY e.stream_version)::int AS run
    FROM events e
    WHERE e.type IN ('MetricsReported', 'TaskReset')
), raw AS (
    SELECT live.company, r.stream_id AS task_id, r.run,
        r.data->'metrics'->>((p.s #>> '{{}}')::int) AS metric,
        r.data->'variants'->>((p.s #>> '{{}}')::int) AS variant,
        coalesce((p.it #>> '{{}}')::bigint, 0) AS iter,
        p.v #>> '{{}}' AS value,
        (p.ts #>> '{{}}')::bigint AS timestamp,
        r.stream_version, p.i
    FROM reports r
    JOIN live ON live.task_id = r.stream_id
    CROSS JOIN LATERAL ROWS FROM (
        json_array_elements(r.data->'series'), json_array_elements(r.data->'iters'),
        json_array_elements(r.data->'values'), json_array_elements(r.data->'timestamps')
    ) WITH ORDINALITY AS p(s, it, v, ts, i)
    WHERE r.type = 'MetricsReported'
), latest AS (
    SELECT DISTINCT ON (company, task_id, run, metric, variant, iter)
        company, task_id, run, metric, variant, iter, value, timestamp,
        CASE WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN NULL
            ELSE value::numeric END AS exact
    FROM raw
    ORDER BY company, task_id, run, metric, variant, iter, stream_version DESC, i DESC
)
INSERT INTO task_metric_points (company, task_id, run, metric, variant, iter, value,
    timestamp, n, finite_n, finite_sum)
SELECT company, task_id, run, metric, variant, iter, value::float8, timestamp,
    row_number() OVER w, count(exact) OVER w, coalesce(sum(exact) OVER w, 0)
FROM latest
WINDOW w AS (PARTITION BY company, task_id, run, metric, variant ORDER BY iter)
"""

_SERIES = """
INSERT INTO task_metric_series (company, task_id, run, metric, variant, points, first_iter,
    last_iter)
SELECT company, task_id, run, metric, variant, count(*), min(iter), max(iter)
FROM task_metric_points
GROUP BY company, task_id, run, metric, variant
"""

_RUNS = f"""
WITH {_LIVE}
INSERT INTO task_runs (company, task_id, run)
SELECT live.company, e.stream_id, count(*)
FROM live JOIN events e ON e.stream_id = live.task_id AND e.type = 'TaskReset'
GROUP BY live.company, e.stream_id
"""


def _key(*columns: str) -> list[sa.Column[str]]:
    return [sa.Column(c, sa.Text, nullable=False) for c in columns]


def upgrade() -> None:
    op.create_table(
        "task_log_lines",
        *_key("company", "task_id"),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("worker", sa.Text),
        sa.Column("msg", sa.Text, nullable=False),
        sa.Column("iter", sa.BigInteger),
        sa.Column("json_encoded", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("company", "task_id", "seq", name="task_log_lines_pkey"),
    )
    op.create_index(
        "task_log_lines_company_task_id_timestamp_seq_idx",
        "task_log_lines",
        ["company", "task_id", "timestamp", "seq"],
    )
    op.create_table(
        "task_metric_points",
        *_key("company", "task_id"),
        sa.Column("run", sa.Integer, nullable=False),
        *_key("metric", "variant"),
        sa.Column("iter", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("finite_n", sa.BigInteger, nullable=False),
        sa.Column("finite_sum", sa.Numeric, nullable=False),
        sa.PrimaryKeyConstraint(
            "company",
            "task_id",
            "run",
            "metric",
            "variant",
            "iter",
            name="task_metric_points_pkey",
        ),
    )
    op.create_table(
        "task_metric_series",
        *_key("company", "task_id"),
        sa.Column("run", sa.Integer, nullable=False),
        *_key("metric", "variant"),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("first_iter", sa.BigInteger, nullable=False),
        sa.Column("last_iter", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "company", "task_id", "run", "metric", "variant", name="task_metric_series_pkey"
        ),
    )
    op.create_table(
        "task_runs",
        *_key("company", "task_id"),
        sa.Column("run", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("company", "task_id", name="task_runs_pkey"),
    )
    # The backfill: set-based, one statement per table (the points' running totals are one
    # window pass), instead of a replay of every report.
    for statement in (_LOG_LINES, _POINTS, _SERIES, _RUNS):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("task_runs")
    op.drop_table("task_metric_series")
    op.drop_table("task_metric_points")
    op.drop_index("task_log_lines_company_task_id_timestamp_seq_idx", table_name="task_log_lines")
    op.drop_table("task_log_lines")
