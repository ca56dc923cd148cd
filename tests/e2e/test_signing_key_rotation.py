"""`tasktrack credentials rotate-signing-key` against a running `tasktrack serve`: tokens
already issued keep working, the new key's tokens are accepted without a restart, and
`--drop-previous` leaves only the new key."""

from __future__ import annotations

import time

import jwt
from sqlalchemy import Engine, text

from tasktrack.store import credentials
from tests.e2e.cli import run
from tests.e2e.http import Api, basic, serving


def _keys(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, value FROM server_secrets ORDER BY name"))
        return {name: bytes(value) for name, value in rows}


def _accepted_within(api: Api, seconds: float) -> bool:
    """The server takes the token within `seconds` (a new kid is looked up at most 1/s)."""
    deadline = time.monotonic() + seconds
    while True:
        status, _ = api.call("tasks.get_all", {})
        if status == 200 or time.monotonic() > deadline:
            return status == 200
        time.sleep(0.2)


def test_rotation_reaches_a_running_server_and_old_tokens_keep_working(
    db: tuple[str, Engine],
) -> None:
    url, engine = db
    env = {"TASKTRACK_DATABASE_URL": url}
    with engine.begin() as conn:
        cred = credentials.create(conn, "rotators", "rory")
    with serving(env) as base:
        api = Api(base, basic(cred.access_key, cred.secret_key))
        clients = [api]
        try:
            old = api.ok("auth.login")["token"]
            assert jwt.get_unverified_header(old)["kid"] == "0"
            claims = jwt.decode(old, options={"verify_signature": False})

            rotated = run("credentials", "rotate-signing-key", env=env)
            assert rotated.returncode == 0, rotated.stderr
            assert rotated.stdout.startswith("signing key 1 created"), rotated.stdout
            assert set(_keys(engine)) == {"jwt-hs256", "jwt-hs256:1"}
            new_key = _keys(engine)["jwt-hs256:1"]

            by_old = Api(base, f"Bearer {old}")
            new = jwt.encode(claims, new_key, algorithm="HS256", headers={"kid": "1"})
            by_new = Api(base, f"Bearer {new}")
            clients += [by_old, by_new]
            assert by_old.ok("tasks.get_all", {}) is not None  # within its grace
            assert _accepted_within(by_new, 5)  # no restart needed

            dropped = run("credentials", "rotate-signing-key", "--drop-previous", env=env)
            assert dropped.returncode == 0, dropped.stderr
            assert "signing key 2" in dropped.stdout
            assert "deleted" in dropped.stdout
            assert set(_keys(engine)) == {"jwt-hs256:2"}
        finally:
            for client in clients:
                client.close()
