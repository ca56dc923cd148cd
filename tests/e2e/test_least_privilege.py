"""The application role as an operator meets it: `db grant`, then serve and run with it only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.cli import run
from tests.e2e.http import Api, basic, serving
from tests.roles import Roles, owner_and_app


@pytest.fixture(scope="module")
def roles(pg_server: str, new_database: Callable[[], str]) -> Iterator[Roles]:
    with owner_and_app(pg_server, new_database()) as made:
        owner = {"TASKTRACK_DATABASE_URL": made.owner_url}
        upgraded = run("db", "upgrade", env=owner)
        assert upgraded.returncode == 0, upgraded.stderr
        yield made


def _as(url: str) -> dict[str, str]:
    return {"TASKTRACK_DATABASE_URL": url}


def test_grant_then_serve_as_the_application_role(roles: Roles) -> None:
    granted = run("db", "grant", roles.app, env=_as(roles.owner_url))
    assert granted.returncode == 0, granted.stderr
    assert "events: SELECT, INSERT\n" in granted.stdout
    assert f"{roles.app} is an application role" in granted.stdout
    assert "warning" not in granted.stderr
    status = run("db", "status", env=_as(roles.app_url))
    assert f"app roles: {roles.app}" in status.stdout
    assert f"owner:    {roles.owner}" in status.stdout

    made = run(
        "credentials", "create", "--company", "acme", "--user", "alice", env=_as(roles.owner_url)
    )
    assert made.returncode == 0, made.stderr
    cred = json.loads(made.stdout)

    with serving(_as(roles.app_url)) as base:
        api = Api(base, basic(cred["access_key"], cred["secret_key"]))
        try:
            task = api.ok("tasks.create", {"name": "served", "type": "training"})["id"]
            rid = {"X-Request-Id": uuid.uuid4().hex}
            api.ok("tasks.enqueue", {"task": task, "queue_name": "q"}, headers=rid)
            api.ok("tasks.enqueue", {"task": task, "queue_name": "q"}, headers=rid)  # a retry
            api.ok("tasks.started", {"task": task})
            point = {"task": task, "type": "training_stats_scalar", "metric": "loss",
                     "variant": "v", "value": 0.5, "iter": 1}  # fmt: skip
            lines = {"Content-Type": "application/json-lines"}
            added = api.raw("events.add_batch", json.dumps(point), headers=lines)
            assert added.json()["data"]["added"] == 1, added.text
            got = api.ok("tasks.get_by_id", {"task": task})["task"]
            assert got["status"] == "in_progress"
            assert got["last_metrics"]
            token = api.ok("auth.login")["token"]
            bearer = Api(base, f"Bearer {token}")
            assert bearer.ok("tasks.get_all", {"id": [task]})["tasks"][0]["id"] == task
            bearer.close()
        finally:
            api.close()

    caught_up = run("projections", "run", env=_as(roles.app_url))
    assert caught_up.returncode == 0, caught_up.stderr
    assert "activity_daily: applied" in caught_up.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("db", "upgrade"), "must run as the owner of tasktrack's schema"),
        (("db", "downgrade", "--yes", "0008"), "must run as the owner of tasktrack's schema"),
        (("db", "grant", "someone"), "must run as the owner of tasktrack's schema"),
        (("projections", "rebuild"), "must run as the owner of tasktrack's schema"),
        (("projections", "verify"), "must run as the owner of tasktrack's schema"),
        (("credentials", "create", "--company", "c", "--user", "u"), "permission denied"),
        (("credentials", "revoke", "NOSUCHKEY"), "permission denied"),
        (("credentials", "rotate-signing-key"), "must run as the owner of tasktrack's schema"),
        (
            ("credentials", "rotate-signing-key", "--drop-previous"),
            "must run as the owner of tasktrack's schema",
        ),
    ],
)
def test_owner_work_as_the_application_role_fails_clearly(
    roles: Roles, args: tuple[str, ...], says: str
) -> None:
    run("db", "grant", roles.app, env=_as(roles.owner_url))
    refused = run(*args, env=_as(roles.app_url))
    assert refused.returncode == 1, refused.stdout
    assert says in refused.stderr
    assert roles.owner in refused.stderr or "schema owner" in refused.stderr
    assert "Traceback" not in refused.stderr
    status = run("db", "check", env=_as(roles.app_url))
    assert status.returncode == 0, status.stderr  # nothing was changed


def test_grant_to_a_missing_role_names_the_fix(roles: Roles) -> None:
    refused = run("db", "grant", "tt_nobody_here", env=_as(roles.owner_url))
    assert refused.returncode == 1
    assert "does not exist: create it first" in refused.stderr
