"""`tasktrack export` at the command line: --since and --company really filter (checked against
the log), Parquet is readable by pyarrow, and which filtered exports `import` takes back."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller
from tests import settle
from tests.e2e.cli import run

SCALAR = "training_stats_scalar"


def _work(engine: Engine, company: str, user: str, tasks: int) -> None:
    client = Client(engine, Caller(company=company, user=user))
    for i in range(tasks):
        task = str(client.create(name=f"{company} job {i}", type="training")["id"])
        client.enqueue(task=task, queue_name="gpu")
        client.started(task=task)
        client.add_events(
            [{"task": task, "type": SCALAR, "metric": "loss", "value": 0.5, "iter": i}]
        )
        client.completed(task=task)


def _positions(engine: Engine, where: str = "true", **params: object) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT position FROM events WHERE {where} ORDER BY position"), params
        ).scalars()
        return [int(p) for p in rows]


def _exported(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _two_companies_a_second_apart(engine: Engine) -> datetime:
    """acme's and globex's work, then more of both after a whole second (new tasks, and the
    first ones archived: streams that span the second); return that second."""
    _work(engine, "acme", "alice", 2)
    _work(engine, "globex", "bob", 1)
    with engine.connect() as conn:
        first = conn.execute(
            text("SELECT company, stream_id FROM events WHERE type = 'TaskCreated'")
        ).all()
    with engine.connect() as conn:
        last = conn.execute(text("SELECT max(recorded_at) FROM events")).scalar_one()
    boundary = last.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC) < boundary:
        time.sleep(0.02)
    _work(engine, "acme", "alice", 1)
    _work(engine, "globex", "bob", 2)
    for company, task in first:
        Client(engine, Caller(company=company, user="carol")).archive(tasks=[task])
    settle.horizon_reaches_end(engine)
    return boundary


def test_since_and_company_export_exactly_what_the_log_holds(db: tuple[str, Engine]) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    boundary = _two_companies_a_second_apart(engine)
    everything = _positions(engine)

    since = run("export", "--since", boundary.strftime("%Y-%m-%dT%H:%M:%S+0000"), env=env)
    assert since.returncode == 0, since.stderr
    later = _positions(engine, "recorded_at >= :t", t=boundary)
    assert 0 < len(later) < len(everything)  # the boundary splits the log
    lines = _exported(since.stdout)
    assert sorted(int(str(e["position"])) for e in lines) == later
    assert f"exported {len(later)} events" in since.stderr

    # The same instant given in another zone selects the same events.
    tokyo = boundary.astimezone(UTC) + timedelta(hours=9)
    zoned = run("export", "--since", tokyo.strftime("%Y-%m-%dT%H:%M:%S+0900"), env=env)
    assert zoned.returncode == 0, zoned.stderr
    assert zoned.stdout == since.stdout

    company = run("export", "--company", "globex", env=env)
    assert company.returncode == 0, company.stderr
    globex = _positions(engine, "company = 'globex'")
    assert 0 < len(globex) < len(everything)
    lines = _exported(company.stdout)
    assert [int(str(e["position"])) for e in lines] == globex  # one writer at a time: in order
    assert {e["company"] for e in lines} == {"globex"}

    both = run(
        "export",
        "--company",
        "acme",
        "--since",
        boundary.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        env=env,
    )
    assert both.returncode == 0, both.stderr
    acme_later = _positions(engine, "company = 'acme' AND recorded_at >= :t", t=boundary)
    assert 0 < len(acme_later) < len(later)
    assert sorted(int(str(e["position"])) for e in _exported(both.stdout)) == acme_later


def test_since_a_date_alone_means_midnight_utc_whatever_the_local_zone(
    db: tuple[str, Engine],
) -> None:
    """A date alone is midnight UTC (as the help says): the machine's own zone must not move it."""
    url, engine = db
    _work(engine, "acme", "alice", 1)
    settle.horizon_reaches_end(engine)
    now = datetime.now(UTC)
    # Pick a day and a zone whose local midnight falls on the other side of the events than
    # UTC midnight does (before noon UTC: today in UTC-12; after: tomorrow in UTC+14).
    if now.hour < 12:
        day, zone = now.date(), "Etc/GMT+12"
    else:
        day, zone = now.date() + timedelta(days=1), "Etc/GMT-14"
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    expected = _positions(engine, "recorded_at >= :t", t=midnight)
    local_midnight = midnight - timedelta(hours=-12 if zone == "Etc/GMT+12" else 14)
    assert expected != _positions(engine, "recorded_at >= :t", t=local_midnight)
    exported = run(
        "export", "--since", day.isoformat(), env={"TASKTRACK_DATABASE_URL": url, "TZ": zone}
    )
    assert exported.returncode == 0, exported.stderr
    assert sorted(int(str(e["position"])) for e in _exported(exported.stdout)) == expected


def test_parquet_from_the_command_line(db: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = db
    _work(engine, "acme", "alice", 3)
    settle.horizon_reaches_end(engine)
    path = tmp_path / "log.parquet"
    exported = run(
        "export", "--format", "parquet", "-o", str(path), env={"TASKTRACK_DATABASE_URL": url}
    )
    assert exported.returncode == 0, exported.stderr
    table = pq.read_table(path)
    positions = _positions(engine)
    assert table.num_rows == len(positions) >= 15
    assert f"exported {len(positions)} events" in exported.stderr
    assert sorted(table.column("position").to_pylist()) == positions
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT encode(hash, 'hex') FROM events")).scalars().all()
    assert sorted(table.column("hash").to_pylist()) == sorted(hashes)
    no_file = run("export", "--format", "parquet", env={"TASKTRACK_DATABASE_URL": url})
    assert no_file.returncode == 2
    assert "parquet needs --output" in no_file.stderr


def test_a_company_export_imports_but_a_since_export_does_not(
    db: tuple[str, Engine], new_database: Callable[[], str], tmp_path: Path
) -> None:
    """--company keeps whole streams (a stream belongs to one company); --since cuts them."""
    url, engine = db
    boundary = _two_companies_a_second_apart(engine)
    source = {"TASKTRACK_DATABASE_URL": url}
    company_file, since_file = tmp_path / "globex.jsonl", tmp_path / "since.jsonl"
    assert run("export", "--company", "globex", "-o", str(company_file), env=source).returncode == 0
    since = boundary.strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert run("export", "--since", since, "-o", str(since_file), env=source).returncode == 0

    target = {"TASKTRACK_DATABASE_URL": new_database()}
    assert run("db", "upgrade", env=target).returncode == 0
    refused = run("import", str(since_file), "--unsigned", env=target)
    assert refused.returncode == 1
    assert "import refused" in refused.stderr
    assert "is missing" in refused.stderr

    imported = run("import", str(company_file), "--unsigned", env=target)
    assert imported.returncode == 0, imported.stderr
    globex = len(_positions(engine, "company = 'globex'"))
    assert f"imported {globex} events" in imported.stdout
    assert run("audit", "verify", env=target).returncode == 0
    assert run("projections", "verify", env=target).returncode == 0
    listed = run("tasks", "--company", "globex", "--user", "bob", "list", "--json", env=target)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["tasks"]) == 3


def test_a_signed_export_imports_with_its_key_and_says_what_it_checked(
    db: tuple[str, Engine], new_database: Callable[[], str], tmp_path: Path
) -> None:
    """As an operator drives it: sign with a key file, import with it (or the printed digest);
    an import that does not say how to check the origin, or with the wrong key, is refused."""
    url, engine = db
    _work(engine, "acme", "alice", 2)
    settle.horizon_reaches_end(engine)
    key, wrong, short = tmp_path / "export.key", tmp_path / "wrong.key", tmp_path / "short.key"
    key.write_text("a1" * 32 + "\n")
    wrong.write_text("b2" * 32 + "\n")
    short.write_text("too short\n")
    source = {"TASKTRACK_DATABASE_URL": url}
    path = tmp_path / "signed.jsonl"
    n = len(_positions(engine))
    exported = run("export", "--key-file", str(key), "-o", str(path), env=source)
    assert exported.returncode == 0, exported.stderr
    assert re.search(rf"exported {n} events, signed with key id [0-9a-f]{{16}}", exported.stderr)
    digest = re.search(r"^digest: (sha256:[0-9a-f]{64})$", exported.stderr, re.M)
    assert digest is not None, exported.stderr
    assert json.loads(path.read_text().splitlines()[-1])["seal"]["events"] == n
    too_short = run("export", "--key-file", str(short), env=source)
    assert too_short.returncode == 2
    assert "at least 32 bytes" in too_short.stderr

    target = {"TASKTRACK_DATABASE_URL": new_database()}
    assert run("db", "upgrade", env=target).returncode == 0
    unsaid = run("import", str(path), env=target)
    assert unsaid.returncode == 2
    assert "exactly one of --key-file KEY, --digest sha256:…, or --unsigned" in unsaid.stderr
    refused = run("import", str(path), "--key-file", str(wrong), env=target)
    assert refused.returncode == 1
    assert "import refused: signature: signed with another key" in refused.stderr
    imported = run("import", str(path), "--key-file", str(key), env=target)
    assert imported.returncode == 0, imported.stderr
    lines = imported.stdout.splitlines()
    assert lines[0] == f"imported {n} events from {path} and built every projection"
    assert any(line.startswith("checked: its signature (HMAC-SHA256") for line in lines)
    assert not any(line.startswith("NOT checked") for line in lines)
    assert run("audit", "verify", env=target).returncode == 0

    again = {"TASKTRACK_DATABASE_URL": new_database()}
    assert run("db", "upgrade", env=again).returncode == 0
    by_digest = run("import", str(path), "--digest", digest.group(1), env=again)
    assert by_digest.returncode == 0, by_digest.stderr
    assert "checked: its digest, as given" in by_digest.stdout
