"""Bearer tokens under attack: a tampered payload, a stripped or swapped algorithm, a wrong
signature, no expiry, a future `nbf`, an expired token: each is 401/30 (ClearML's invalid
token). A token's company and user always come from its credential, never from its claims."""

from __future__ import annotations

import base64
import json
import time
import warnings
from typing import Any

import jwt
import pytest
from sqlalchemy import Engine, text

from tests.e2e.http import Api


def _secret(engine: Engine) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(text("SELECT value FROM server_secrets")).scalar_one())


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    pad = "=" * (-len(payload) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload + pad))
    head = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return head, claims, signature


def _status(server: str, token: str) -> tuple[int, int]:
    client = Api(server, f"Bearer {token}")
    try:
        code, subcode, msg = client.error("tasks.get_all", {})
    finally:
        client.close()
    assert msg.startswith("Unauthorized"), msg
    return code, subcode


def _hs512(claims: dict[str, Any], key: bytes) -> str:
    with warnings.catch_warnings():  # PyJWT finds the server's key short for SHA-512
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm="HS512")


def _forgeries(token: str, key: bytes) -> dict[str, str]:
    header, claims, signature = _parts(token)
    other = {**claims, "sub": "SOMEONE-ELSES-KEY", "identity": {"company": "other"}}
    now = int(time.time())
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    return {
        "payload altered, signature kept": f"{_b64(header)}.{_b64(other)}.{signature}",
        "exp extended, signature kept": f"{_b64(header)}.{_b64({**claims, 'exp': now + 10**6})}.{signature}",  # noqa: E501
        "alg none, no signature": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg none, signature kept": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.{signature}",  # noqa: E501
        "alg HS512 with the right key": _hs512(claims, key),
        "signature flipped": f"{token.rsplit('.', 1)[0]}.{flipped}",
        "signature dropped": token.rsplit(".", 1)[0] + ".",
        "signed with a guessed key": jwt.encode(claims, "secret" * 6, algorithm="HS256"),
        "no exp, right key": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key),
        "nbf in the future, right key": jwt.encode({**claims, "nbf": now + 3600}, key),
        "expired a second ago, right key": jwt.encode({**claims, "exp": now - 1}, key),
        "no sub, right key": jwt.encode({k: v for k, v in claims.items() if k != "sub"}, key),
        "unknown sub, right key": jwt.encode({**claims, "sub": "NOSUCHACCESSKEY"}, key),
        "two segments": ".".join(token.split(".")[:2]),
        "dots only": "..",
        "garbage": "a.b.c",
    }


FORGERIES = list(_forgeries(jwt.encode({"sub": "x", "exp": 1}, "k" * 32), b"k" * 32))


@pytest.mark.parametrize("kind", FORGERIES)
def test_a_forged_or_tampered_token_is_401_30(
    kind: str, api: Api, server: str, e2e_engine: Engine
) -> None:
    token = api.ok("auth.login")["token"]
    assert api.ok("tasks.get_all", {})["tasks"] == []  # the credential itself works
    forged = _forgeries(token, _secret(e2e_engine))[kind]
    assert _status(server, forged) == (401, 30)


def test_the_genuine_token_works_and_its_claims_cannot_move_it_to_another_company(
    api: Api, server: str, e2e_engine: Engine, new_caller: Any
) -> None:
    """Even a token signed with the server's own key names its company only through its
    credential (`sub`): identity claims of another company are ignored."""
    victim = new_caller()
    secret = victim.ok("tasks.create", {"name": "victim's", "type": "training"})["id"]
    token = api.ok("auth.login")["token"]
    _header, claims, _signature = _parts(token)
    victim_company = victim.credential.company  # type: ignore[attr-defined]
    planted = {**claims, "identity": {"company": victim_company, "user": "root", "role": "admin"}}
    bearer = Api(server, "Bearer " + jwt.encode(planted, _secret(e2e_engine), algorithm="HS256"))
    try:
        assert bearer.error("tasks.get_by_id", {"task": secret})[:2] == (400, 101)
        mine = bearer.ok("tasks.create", {"name": "where am I", "type": "training"})["id"]
        got = api.ok("tasks.get_by_id", {"task": mine})["task"]
        assert got["company"] == api.credential.company  # type: ignore[attr-defined]
        assert got["user"] == api.credential.user  # type: ignore[attr-defined]
    finally:
        bearer.close()


def test_a_token_in_the_basic_scheme_and_a_secret_as_a_token_are_refused(
    api: Api, server: str
) -> None:
    token = api.ok("auth.login")["token"]
    cred = api.credential  # type: ignore[attr-defined]
    for authorization, subcode in (
        (f"Basic {token}", 21),
        (f"Bearer {cred.secret_key}", 30),
        (f"Bearer {cred.access_key}:{cred.secret_key}", 30),
        (f"bearer  {token}", 0),  # scheme names are case-insensitive: this one is fine
    ):
        client = Api(server, authorization)
        try:
            status, envelope = client.call("tasks.get_all", {})
        finally:
            client.close()
        if subcode == 0:
            assert status == 200
        else:
            assert (status, envelope["meta"]["result_subcode"]) == (401, subcode)
