"""`tasktrack projections run` as operators run it: one runner per projector (a second one exits
with a message, or waits with --wait), and a follower that gets no NOTIFY still catches up by
polling."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.service import Caller, TaskService
from tests import settle
from tests.e2e.cli import TASKTRACK, run


def _fill(engine: Engine, tasks: int, *, notify: bool = True) -> str:
    """`tasks` tasks created, started and completed; return the last one (`notify`: the
    service wakes the runners after each commit)."""
    service = TaskService(engine, notify=notify)
    client = Client(engine, Caller(company="ops", user="olga"), service=service)
    task = ""
    for i in range(tasks):
        task = str(client.create(name=f"job {i}", type="training", project="p")["id"])
        client.started(task=task)
        client.completed(task=task)
    return task


def _checkpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT position FROM projector_checkpoints WHERE name = 'activity_daily'")
        ).scalar()
    return int(found or 0)


def _until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _waiting_for_advisory_lock(engine: Engine) -> int:
    """Sessions of this database blocked on an advisory lock (a fresh snapshot each call)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
            ).scalar_one()
        )


@contextmanager
def _runner(url: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`tasktrack projections run ARGS` in the background; killed if still running at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    env["TASKTRACK_DATABASE_URL"] = url
    process = subprocess.Popen(
        [TASKTRACK, "projections", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_a_second_runner_exits_with_a_message_or_waits(db: tuple[str, Engine]) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    _fill(engine, 3)
    end = settle.horizon_reaches_end(engine)
    with _runner(url, "--follow", "--poll", "0.2") as follower:
        _until(lambda: _checkpoint(engine) == end, "the follower never caught up")

        second = run("projections", "run", env=env)
        assert second.returncode == 2
        assert (
            "tasktrack: projector 'activity_daily' is already being run by another runner"
            in second.stderr
        )
        assert "applied" not in second.stdout

        with _runner(url, "--wait") as waiter:
            _until(
                lambda: _waiting_for_advisory_lock(engine) == 1,
                "the --wait runner never waited for the follower's lock",
            )
            time.sleep(0.5)
            assert waiter.poll() is None  # still waiting, not gone
            _fill(engine, 1)
            end = settle.horizon_reaches_end(engine)
            _until(lambda: _checkpoint(engine) == end, "the follower stopped following")
            follower.send_signal(signal.SIGTERM)
            assert follower.wait(30) == 0
            out, err = waiter.communicate(timeout=60)
            assert waiter.returncode == 0, err
            assert out == "activity_daily: applied 0 events\n"  # the follower had done it all
    verified = run("projections", "verify", env=env)
    assert verified.returncode == 0, verified.stdout


def _waits_after_applying(engine: Engine, end: int) -> None:
    """Until a new follower's first round has applied the log up to `end`, and a moment more
    (the round's last, empty batch) so that the next events are the next round's."""
    _until(lambda: _checkpoint(engine) == end, "the follower never caught up")
    time.sleep(1.0)


def _woken_by_notify(engine: Engine, task: str, tries: int = 20) -> int:
    """Ping `task` until a follower polling ten minutes apart has applied the whole log; return
    its end. A NOTIFY comes at commit, but the events are readable only once the commit-safe
    horizon has passed them: while a transaction that began earlier is still open anywhere on
    the server (other databases too), the woken follower finds nothing new and sleeps again, so
    each try is a new commit, hence a new NOTIFY."""
    client = Client(engine, Caller(company="ops", user="olga"))
    for _ in range(tries):
        end = settle.horizon_reaches_end(engine)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if _checkpoint(engine) == end:
                return end
            time.sleep(0.02)
        client.ping(task=task)
    raise AssertionError(f"no NOTIFY woke the follower in {tries} commits")


def test_a_follower_that_gets_no_notify_still_applies_within_its_poll(
    db: tuple[str, Engine],
) -> None:
    url, engine = db
    _fill(engine, 2)
    end = settle.horizon_reaches_end(engine)
    # Polls ten minutes apart: only a NOTIFY can wake these followers. Each starts with events
    # to apply and the horizon past them, so its first round applies them all; once that round
    # is over, it waits. (--wait: the lock of one killed a moment ago may linger.)
    with _runner(url, "--follow", "--wait", "--poll", "600"):
        _waits_after_applying(engine, end)
        end = _woken_by_notify(engine, _fill(engine, 1))

    _fill(engine, 1, notify=False)
    end = settle.horizon_reaches_end(engine)
    # A new follower (no old notification queued for it), and no NOTIFY any more.
    with _runner(url, "--follow", "--wait", "--poll", "600") as deaf:
        _waits_after_applying(engine, end)
        _fill(engine, 1, notify=False)
        missed = settle.horizon_reaches_end(engine)
        time.sleep(1.5)
        assert _checkpoint(engine) == end < missed  # nothing wakes it: it sleeps on
        assert deaf.poll() is None

    # The same without NOTIFY but polling every 0.2 s.
    with _runner(url, "--follow", "--wait", "--poll", "0.2") as poller:
        _until(lambda: _checkpoint(engine) == missed, "the poller never caught up")
        _fill(engine, 1, notify=False)
        end = settle.horizon_reaches_end(engine)
        started = time.monotonic()
        _until(lambda: _checkpoint(engine) == end, "the poller never applied the new events")
        assert time.monotonic() - started < 1.5  # a poll or two, far below the default 2 s
        poller.send_signal(signal.SIGTERM)
        assert poller.wait(30) == 0
    verified = run("projections", "verify", env={"TASKTRACK_DATABASE_URL": url})
    assert verified.returncode == 0, verified.stdout
