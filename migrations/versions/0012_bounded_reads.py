"""Bounded reads of a task's log and series: task_log_lines, task_metric_points (with running
totals), task_metric_series and task_runs, backfilled from the log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

events.get_task_log and events.scalar_metrics_iter_histogram decoded every event of the
task's stream on every request; they now page these tables in SQL (docs/architecture.md,
"Bounded reads"). A database that already has events gets the tables filled here, in SQL,
from the events' payloads: the same rows the inline projectors would have written (the
integration test downgrades, upgrades and verifies against a replay).

A migration defines the tables it touches itself; it never imports tasktrack's live metadata.
"""

from collections.abc import Sequence

import msgspec
import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tenant of every live task, from its state (the `tasks` row, folded from the stream's
# creation; not events.company, which the hash chain does not cover). A deleted task has no
# row, and gets no rows here either.
_LIVE = "live AS (SELECT id AS task_id, company FROM tasks)"

# Console lines go through a staging table, numbered at the end in arrival order. PostgreSQL
# cannot parse a JSON document holding the escape of a NUL (it cannot be text), so reports
# whose payload holds one are read in Python (_stage_with_nul), the rest in SQL. The rule for
# `json_encoded` is the projector's: a line whose level, worker or msg encodes (msgspec) to
# JSON text holding the escape is stored with all three JSON-encoded.
_NUL = "'\\u0000'"
_STAGING = """
CREATE TEMP TABLE log_lines_staging (
    company text, task_id text, stream_version int, i bigint, timestamp bigint, level text,
    worker text, msg text, iter bigint, json_encoded boolean
) ON COMMIT DROP
"""
_STAGE_CLEAN = f"""
WITH {_LIVE}
INSERT INTO log_lines_staging
SELECT live.company, e.stream_id, e.stream_version, l.i, (l.ts #>> '{{}}')::bigint,
    l.level #>> '{{}}', l.worker #>> '{{}}', l.msg #>> '{{}}', (l.it #>> '{{}}')::bigint, false
FROM live
JOIN events e ON e.stream_id = live.task_id AND e.type = 'TaskLogged'
CROSS JOIN LATERAL ROWS FROM (
    json_array_elements(e.data->'timestamps'), json_array_elements(e.data->'levels'),
    json_array_elements(e.data->'workers'), json_array_elements(e.data->'msgs'),
    json_array_elements(e.data->'iters')
) WITH ORDINALITY AS l(ts, level, worker, msg, it, i)
WHERE strpos(e.data::text, {_NUL}) = 0
"""
_WITH_NUL = f"""
WITH {_LIVE}
SELECT live.company, e.stream_id, e.stream_version, e.data::text
FROM live JOIN events e ON e.stream_id = live.task_id AND e.type = 'TaskLogged'
WHERE strpos(e.data::text, {_NUL}) > 0
"""
_LOG_LINES = """
INSERT INTO task_log_lines (company, task_id, seq, timestamp, level, worker, msg, iter,
    json_encoded)
SELECT company, task_id,
    row_number() OVER (PARTITION BY company, task_id ORDER BY stream_version, i),
    timestamp, level, worker, msg, iter, json_encoded
FROM log_lines_staging
"""


def _stage_with_nul() -> None:
    """Stage the lines of the reports whose JSON PostgreSQL cannot parse (a NUL escape)."""
    conn = op.get_bind()
    escape = "\\u0000"
    rows = []
    for company, task_id, version, data in conn.execute(sa.text(_WITH_NUL)):
        report = msgspec.json.decode(data)
        columns = zip(
            report["timestamps"], report["levels"], report["workers"], report["msgs"],
            report["iters"], strict=True,
        )  # fmt: skip
        for i, (ts, level, worker, msg, it) in enumerate(columns, start=1):
            encoded = [msgspec.json.encode(x).decode() for x in (level, worker, msg)]
            as_json = any(escape in x for x in encoded)
            stored = (encoded[0], None if worker is None else encoded[1], encoded[2])
            rows.append(
                dict(
                    zip(
                        ("level", "worker", "msg"),
                        stored if as_json else (level, worker, msg),
                        strict=True,
                    ),
                    company=company, task_id=task_id, stream_version=version, i=i,
                    timestamp=ts, iter=it, json_encoded=as_json,
                )
            )  # fmt: skip
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO log_lines_staging VALUES (:company, :task_id, :stream_version, :i, "
                ":timestamp, :level, :worker, :msg, :iter, :json_encoded)"
            ),
            rows,
        )


# A series' id: a 64-bit hash of (company, task, run, metric, variant), length-prefixed, the
# first 16 hex digits of its md5 as a signed integer (tasktrack/projections/series_ids.py; a
# copy here, as a migration never imports live code: the rows must equal what it writes).
_SERIES_ID = """('x' || left(md5(
    length(company) || ':' || company || length(task_id) || ':' || task_id || run::text || ':'
    || length(metric) || ':' || metric || length(variant) || ':' || variant
), 16))::bit(64)::bigint"""

# Every point, the later report of a (run, metric, variant, iteration) winning, then the
# running totals in iteration order, and each series' head. A point's run is the number of
# resets before it.
_POINTS = f"""
WITH {_LIVE}, reports AS (
    SELECT e.stream_id, e.stream_version, e.type, e.data,
        sum((e.type = 'TaskReset')::int) OVER (
            PARTITION BY e.stream_id ORDER BY e.stream_version)::int AS run
    FROM events e
    WHERE e.type IN ('MetricsReported', 'TaskReset')
      AND e.stream_id IN (SELECT task_id FROM live)
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
), latest AS MATERIALIZED (
    SELECT DISTINCT ON (company, task_id, run, metric, variant, iter)
        company, task_id, run, metric, variant, {_SERIES_ID} AS series_id, iter, value,
        timestamp,
        CASE WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN NULL
            ELSE value::numeric END AS exact
    FROM raw
    ORDER BY company, task_id, run, metric, variant, iter, stream_version DESC, i DESC
), points AS (
    INSERT INTO task_metric_points (company, series_id, iter, value, timestamp, finite_n,
        finite_sum)
    SELECT company, series_id, iter, value::float8, timestamp, count(exact) OVER w,
        coalesce(sum(exact) OVER w, 0)
    FROM latest
    WINDOW w AS (PARTITION BY company, series_id ORDER BY iter)
)
INSERT INTO task_metric_series (company, task_id, run, metric, variant, series_id, points,
    first_iter, last_iter)
SELECT company, task_id, run, metric, variant, series_id, count(*), min(iter), max(iter)
FROM latest
GROUP BY company, task_id, run, metric, variant, series_id
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
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("iter", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("finite_n", sa.BigInteger, nullable=False),
        sa.Column("finite_sum", sa.Numeric, nullable=False),
        sa.PrimaryKeyConstraint("company", "series_id", "iter", name="task_metric_points_pkey"),
    )
    op.create_table(
        "task_metric_series",
        *_key("company", "task_id"),
        sa.Column("run", sa.Integer, nullable=False),
        *_key("metric", "variant"),
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("first_iter", sa.BigInteger, nullable=False),
        sa.Column("last_iter", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "company", "task_id", "run", "metric", "variant", name="task_metric_series_pkey"
        ),
        sa.UniqueConstraint(
            "company", "series_id", name="task_metric_series_company_series_id_key"
        ),
    )
    op.create_table(
        "task_runs",
        *_key("company", "task_id"),
        sa.Column("run", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("company", "task_id", name="task_runs_pkey"),
    )
    # The backfill: set-based, one statement per table (the points and their series together;
    # the running totals are one window pass), instead of a replay of every report.
    op.execute(_STAGING)
    op.execute(_STAGE_CLEAN)
    _stage_with_nul()
    for statement in (_LOG_LINES, _POINTS, _RUNS):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("task_runs")
    op.drop_table("task_metric_series")
    op.drop_table("task_metric_points")
    op.drop_index("task_log_lines_company_task_id_timestamp_seq_idx", table_name="task_log_lines")
    op.drop_table("task_log_lines")
