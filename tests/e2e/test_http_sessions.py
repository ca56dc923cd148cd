"""The web UI's session over HTTP: auth.login sets the HttpOnly `clearml_token_basic` cookie;
the cookie is a credential on the UI's own (JSON, same-origin) requests and refused when
expired, forged, revoked by a logout, or sent by another site's form; users.get_preferences /
set_preferences are kept per user; login.supported_modes says password mode."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest
from sqlalchemy import Engine, text

from tasktrack.store import credentials
from tests.e2e.http import Api

COOKIE = "clearml_token_basic"
UI = {"Content-Type": "application/json"}  # what the web UI sends on every call


def _login(server: str, api: Api) -> httpx.Response:
    response = httpx.post(
        f"{server}/v999.0/auth.login", headers={"Authorization": api.authorization or ""}
    )
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def session(server: str, api: Api) -> Iterator[tuple[Api, str]]:
    response = _login(server, api)
    return api, response.cookies[COOKIE]


def test_login_sets_an_http_only_same_site_cookie_holding_the_token(server: str, api: Api) -> None:
    response = _login(server, api)
    set_cookie = response.headers["set-cookie"]
    token = response.json()["data"]["token"]
    assert set_cookie.startswith(f"{COOKIE}={token};")
    attributes = {a.strip().split("=")[0].lower() for a in set_cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "SameSite=Strict" in set_cookie


def test_the_cookie_is_a_credential_on_the_uis_requests(
    server: str, session: tuple[Api, str]
) -> None:
    api, token = session
    # The API is not under /api without --ui: the cookie call goes to the root path here.
    response = httpx.post(
        f"{server}/v999.0/users.get_current_user",
        content="{}",
        headers={"Cookie": f"{COOKIE}={token}", **UI},
    )
    assert response.status_code == 200, response.text
    user = response.json()["data"]["user"]
    company = api.credential.company  # type: ignore[attr-defined]
    assert user["id"] == "alice"
    assert user["name"] == "alice"
    assert user["company"] == {"id": company, "name": company}


def _root_cookie_call(server: str, token: str, endpoint: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server}/v999.0/{endpoint}",
        content="{}",
        headers={"Cookie": f"{COOKIE}={token}", **headers},
    )


def test_a_cross_site_form_post_with_only_the_cookie_is_refused(
    server: str, session: tuple[Api, str]
) -> None:
    api, token = session
    project = {"name": f"p-{uuid.uuid4().hex[:6]}"}
    # What a form on another site makes the browser send: urlencoded, the cookie, its Origin.
    for headers in (
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {},
    ):
        response = httpx.post(
            f"{server}/v999.0/projects.create",
            content=json.dumps(project),
            headers={"Cookie": f"{COOKIE}={token}", **headers},
        )
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["meta"]["result_subcode"] == 20
    # JSON from another origin (a script there, had a preflight let it through) is refused too.
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = _root_cookie_call(server, token, "projects.create", **UI, **headers)
        assert response.status_code == 401, (headers, response.text)
    # Nothing was created by any of them.
    assert api.ok("projects.get_all", {"name": project["name"]})["projects"] == []
    # The UI's own request (same origin) passes.
    host = httpx.URL(server).netloc.decode()
    same = {"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    assert _root_cookie_call(server, token, "users.get_current_user", **UI, **same).is_success


def test_a_forged_expired_or_revoked_cookie_is_refused(
    server: str, session: tuple[Api, str], e2e_engine: Engine
) -> None:
    api, token = session
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    with e2e_engine.connect() as conn:
        keys = conn.execute(text("SELECT name, value FROM server_secrets")).all()
    kid = header.get("kid", "0")
    secret = next(
        bytes(v) for n, v in keys if n == ("jwt-hs256" if kid == "0" else f"jwt-hs256:{kid}")
    )
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 10}, secret, algorithm="HS256", headers={"kid": kid}
    )
    forged = jwt.encode(
        claims,
        b"not the key the server signs with, 32+ bytes long",
        algorithm="HS256",
        headers={"kid": kid},
    )
    for bad, why in ((expired, "expired"), (forged, "invalid token")):
        response = _root_cookie_call(server, bad, "users.get_current_user", **UI)
        assert response.status_code == 401, response.text
        meta = response.json()["meta"]
        assert meta["result_subcode"] == 30, meta
        assert why in meta["result_msg"], meta
    # The credential revoked: its sessions end with it.
    with e2e_engine.begin() as conn:
        credentials.revoke(conn, api.credential.access_key)  # type: ignore[attr-defined]
    response = _root_cookie_call(server, token, "users.get_current_user", **UI)
    assert response.status_code == 401
    assert response.json()["meta"]["result_subcode"] == 30


def test_logout_revokes_the_session_and_clears_the_cookie(
    server: str, session: tuple[Api, str], new_caller: Callable[..., Api]
) -> None:
    api, token = session
    other = _login(server, new_caller()).cookies[COOKIE]
    assert _root_cookie_call(server, token, "users.get_current_user", **UI).is_success
    response = _root_cookie_call(server, token, "login.logout", **UI)
    assert response.status_code == 200, response.text
    assert response.headers["set-cookie"].startswith(f"{COOKIE}=;")
    assert "Max-Age=0" in response.headers["set-cookie"]
    refused = _root_cookie_call(server, token, "users.get_current_user", **UI)
    assert refused.status_code == 401
    assert "logout" in refused.json()["meta"]["result_msg"]
    # Only that session: another login's cookie and the key pair itself still work.
    assert _root_cookie_call(server, other, "users.get_current_user", **UI).is_success
    assert api.ok("users.get_current_user")["user"]["id"] == "alice"


def test_supported_modes_say_password_mode_and_whether_the_caller_is_logged_in(
    server: str, session: tuple[Api, str]
) -> None:
    _, token = session
    anonymous = httpx.post(f"{server}/v999.0/login.supported_modes", content="{}", headers=UI)
    data = anonymous.json()["data"]
    assert data["basic"]["enabled"] is True
    assert data["authenticated"] is False
    logged_in = _root_cookie_call(server, token, "login.supported_modes", **UI)
    assert logged_in.json()["data"]["authenticated"] is True


def test_preferences_are_kept_per_user_and_merged_by_dotted_keys(
    new_caller: Callable[..., Api],
) -> None:
    alice = new_caller()
    bob = new_caller(company=alice.credential.company, user="bob")  # type: ignore[attr-defined]
    assert alice.ok("users.get_preferences") == {"preferences": {}}
    changed = alice.ok(
        "users.set_preferences",
        {"preferences": {"views.experiments.cols": ["name", "status"], "theme": "dark"}},
    )
    expected = {"views": {"experiments": {"cols": ["name", "status"]}}, "theme": "dark"}
    assert changed == {"updated": 1, "fields": {"preferences": expected}}
    alice.ok("users.set_preferences", {"preferences": {"views.models": {"cols": ["id"]}}})
    expected["views"]["models"] = {"cols": ["id"]}  # type: ignore[index]
    assert alice.ok("users.get_preferences") == {"preferences": expected}
    again = alice.ok("users.set_preferences", {"preferences": {"theme": "dark"}})
    assert again == {"updated": 0, "fields": {}}
    assert bob.ok("users.get_preferences") == {"preferences": {}}
    code, subcode, _ = alice.error("users.set_preferences", {"preferences": {"a": {"b.c": 1}}})
    assert (code, subcode) == (400, 12)
    code, _, _ = alice.error("users.set_preferences", {"preferences": {"$set": 1}})
    assert code == 400
    assert alice.ok("users.get_preferences") == {"preferences": expected}
