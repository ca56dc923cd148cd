"""Credentials and tokens over HTTP, and the credentials CLI (issue: every call but debug.ping
needs Basic auth or a bearer token from auth.login; otherwise 401)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import jwt
import pytest
from sqlalchemy import Engine, text

from tests.e2e.cli import run
from tests.e2e.http import Api, basic


def _secret(engine: Engine) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(text("SELECT value FROM server_secrets")).scalar_one())


def test_debug_ping_needs_no_auth_and_everything_else_does(server: str) -> None:
    anonymous = Api(server, None)
    try:
        assert anonymous.ok("debug.ping") == {"msg": "tasktrack server"}
        code, subcode, msg = anonymous.error("tasks.get_all", {})
        assert (code, subcode) == (401, 20)
        assert "missing" in msg
    finally:
        anonymous.close()


@pytest.mark.parametrize(
    ("authorization", "subcode"),
    [
        (basic("NOSUCHKEY", "nosecret"), 22),
        ("Basic !!!not-base64!!!", 21),
        ("Basic " + "Zm9vYmFy", 21),  # base64 of "foobar": no colon
        ("Bearer not.a.jwt", 30),
        ("Digest abc", 21),
    ],
)
def test_bad_credentials_are_401(server: str, authorization: str, subcode: int) -> None:
    """ClearML's subcodes: 21 malformed, 22 invalid credentials, 30 invalid token."""
    api = Api(server, authorization)
    try:
        code, got_subcode, msg = api.error("tasks.get_all", {})
        assert (code, got_subcode) == (401, subcode)
        assert msg.startswith("Unauthorized")
    finally:
        api.close()


def test_login_returns_a_jwt_with_the_claims_clearml_reads(api: Api, server: str) -> None:
    token = api.ok("auth.login")["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["api_version"] == "2.23"
    assert claims["feature_set"] == "basic"
    assert claims["exp"] > time.time()
    bearer = Api(server, f"Bearer {token}")
    try:
        task = bearer.ok("tasks.create", {"name": "via token", "type": "training"})["id"]
        assert api.ok("tasks.get_by_id", {"task": task})["task"]["user"] == "alice"
    finally:
        bearer.close()


def test_wrong_secret_is_refused(api: Api, server: str) -> None:
    cred = api.credential  # type: ignore[attr-defined]
    wrong = Api(server, basic(cred.access_key, cred.secret_key + "x"))
    try:
        assert wrong.error("auth.login")[0] == 401
        assert wrong.error("tasks.get_all", {})[0] == 401
    finally:
        wrong.close()


def test_forged_and_expired_tokens_are_refused(api: Api, server: str, e2e_engine: Engine) -> None:
    token = api.ok("auth.login")["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "identity": {"company": "other"}},
        "a guessed key of 32 bytes or so!",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 5}, _secret(e2e_engine), algorithm="HS256"
    )
    for bad, subcode in ((forged, 30), (expired, 30)):
        client = Api(server, f"Bearer {bad}")
        try:
            assert client.error("tasks.get_all", {})[:2] == (401, subcode)
        finally:
            client.close()


def test_revoking_a_credential_stops_its_secret_and_its_tokens(
    server: str, e2e_database: str, new_caller: Callable[..., Api]
) -> None:
    created = run(
        "credentials",
        "create",
        "--company",
        "revokers",
        "--user",
        "rita",
        env={"TASKTRACK_DATABASE_URL": e2e_database},
    )
    assert created.returncode == 0, created.stderr
    cred = json.loads(created.stdout)
    assert set(cred) == {"access_key", "secret_key", "company", "user"}
    api = Api(server, basic(cred["access_key"], cred["secret_key"]))
    try:
        token = api.ok("auth.login")["token"]
        listed = run("credentials", "list", env={"TASKTRACK_DATABASE_URL": e2e_database})
        assert cred["access_key"] in listed.stdout
        assert cred["secret_key"] not in listed.stdout
        revoked = run(
            "credentials",
            "revoke",
            cred["access_key"],
            env={"TASKTRACK_DATABASE_URL": e2e_database},
        )
        assert revoked.returncode == 0, revoked.stderr
        assert api.error("tasks.get_all", {})[0] == 401
        bearer = Api(server, f"Bearer {token}")
        try:
            assert bearer.error("tasks.get_all", {})[0] == 401
        finally:
            bearer.close()
        again = run(
            "credentials",
            "revoke",
            cred["access_key"],
            env={"TASKTRACK_DATABASE_URL": e2e_database},
        )
        assert again.returncode == 1
    finally:
        api.close()


def test_credentials_are_stored_only_as_salted_hashes(api: Api, e2e_engine: Engine) -> None:
    cred = api.credential  # type: ignore[attr-defined]
    with e2e_engine.connect() as conn:
        row = (
            conn.execute(
                text("SELECT * FROM credentials WHERE access_key = :k"), {"k": cred.access_key}
            )
            .mappings()
            .one()
        )
    stored = json.dumps(
        {k: v.hex() if isinstance(v, bytes | memoryview) else str(v) for k, v in row.items()}
    )
    assert cred.secret_key not in stored
    assert len(bytes(row["secret_salt"])) == 16


@pytest.mark.parametrize(
    "header", ["X-ClearML-Impersonate-As", "X-ClearML-Act-As", "X-Trains-Impersonate-As"]
)
def test_acting_as_another_user_is_refused_and_writes_nothing(api: Api, header: str) -> None:
    """ClearML lets its admins impersonate; tasktrack's actor is always the credential's user."""
    name = f"impersonated-{header}-{time.time_ns()}"
    code, subcode, msg = api.error(
        "tasks.create", {"name": name, "type": "testing"}, headers={header: "someone-else"}
    )
    assert (code, subcode) == (400, 6)
    assert "impersonation" in msg.lower()
    assert api.ok("tasks.get_all", {"name": f"^{name}$"})["tasks"] == []
    # The same call without the header acts as the caller.
    created = api.ok("tasks.create", {"name": name, "type": "testing"})["id"]
    task = api.ok("tasks.get_by_id", {"task": created})["task"]
    assert task["user"] == api.ok("users.get_current_user")["user"]["id"]


def test_creating_users_over_the_api_is_forbidden(api: Api) -> None:
    before = api.ok("users.get_all")["users"]
    code, subcode, msg = api.error(
        "auth.create_user", {"company": "c", "name": "mallory", "email": "m@example.com"}
    )
    assert (code, subcode) == (403, 20)
    assert "credentials create" in msg
    assert api.ok("users.get_all")["users"] == before
