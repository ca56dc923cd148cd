"""The web UI's own endpoints: login modes, logout, the caller's preferences, reports."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.http.auth import Unauthorized
from tasktrack.http.calls import Answered, Call, Spec
from tasktrack.http.session import clear_cookie


class Empty(msgspec.Struct, frozen=True):
    pass


class SetPreferences(msgspec.Struct, frozen=True, kw_only=True):
    preferences: dict[str, Any]
    return_updated: bool = True


def _supported_modes(call: Call, body: Empty) -> Any:
    try:
        authenticated = bool(call.authorization) and bool(
            call.auth.caller(call.authorization, call.address)
        )
    except Unauthorized:
        authenticated = False
    return {
        # Password mode: the user name is a credential's access key, the password its secret.
        "basic": {"enabled": True, "guest": {"enabled": False}},
        "sso": {},
        "sso_providers": [],
        "server_errors": {"missed_es_upgrade": False, "es_connection_error": False},
        "authenticated": authenticated,
    }


def _logout(call: Call, body: Empty) -> Any:
    call.auth.logout(call.authorization)
    return Answered(data={}, headers={"Set-Cookie": clear_cookie()})


def _get_preferences(call: Call, body: Empty) -> Any:
    return {"preferences": call.client.get_preferences()}


def _set_preferences(call: Call, body: SetPreferences) -> Any:
    changed, now = call.client.set_preferences(body.preferences)
    fields = {"preferences": now} if changed and body.return_updated else {}
    return {"updated": int(changed), "fields": fields}


ENDPOINTS = [
    Spec(
        name="login.supported_modes",
        request=Empty,
        run=_supported_modes,
        anonymous=True,  # the login page asks before anyone logged in
        summary="How to log in: password mode (access key and secret); is the caller logged in",
    ),
    Spec(
        name="login.logout",
        request=Empty,
        run=_logout,
        anonymous=True,  # an expired session may still log out (and clear its cookie)
        summary="End the session: revoke its token and clear the cookie",
    ),
    Spec(
        name="auth.logout",
        request=Empty,
        run=_logout,
        anonymous=True,
        summary="End the session: revoke its token and clear the cookie",
    ),
    Spec(
        name="users.get_preferences",
        request=Empty,
        run=_get_preferences,
        summary="The caller's web UI preferences",
    ),
    Spec(
        name="users.set_preferences",
        request=SetPreferences,
        run=_set_preferences,
        summary="Change the caller's web UI preferences (dotted top-level keys reach inside)",
    ),
]
