"""The web UI's session: the `clearml_token_basic` cookie auth.login sets, and the checks that
keep a cookie from authenticating a request another site made the browser send.

A browser attaches the cookie to any request to this host, including a form another site posts
here. So the cookie is a credential only on a request a page of another site cannot make: its
body declared `Content-Type: application/json` (the web UI's every call does; an HTML form can
send only urlencoded, multipart or plain text) or it carries one of ClearML's client headers
(`X-Clearml-Client`): a script on another origin that sets either must first pass a CORS
preflight, which tasktrack never grants. A request whose `Origin` names another host, or whose
`Sec-Fetch-Site` says another site made it, is refused too; and the cookie itself is
`SameSite=Strict` and `HttpOnly` (docs/architecture.md, "Web UI sessions").
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from tasktrack.http.auth import MISSING, Unauthorized

COOKIE = "clearml_token_basic"
CLIENT_HEADERS = ("x-clearml-client", "x-trains-client", "x-allegro-client")
# Sec-Fetch-Site values of a request this origin's own pages (or the user, typing) made.
_OWN_SITE = ("same-origin", "none")


def _cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _not_a_form(headers: dict[str, str]) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or any(headers.get(h) for h in CLIENT_HEADERS)


def _same_origin(headers: dict[str, str]) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _OWN_SITE:
        return False
    origin = headers.get("origin")
    if origin is None:
        return True  # browsers send Origin on every cross-origin POST; none: not cross-site
    return bool(origin) and urlsplit(origin).netloc == headers.get("host", "")


def authorization(headers: dict[str, str]) -> str | None:
    """The request's credential as an Authorization value: the header if there is one, else
    the session cookie as a bearer token (when the request is the UI's own), else None."""
    given = headers.get("authorization")
    if given:
        return given
    token = _cookie(headers.get("cookie"))
    if token is None:
        return None
    if not _not_a_form(headers):
        raise Unauthorized(
            MISSING,
            "Unauthorized (the session cookie is accepted only on a JSON request "
            "(Content-Type: application/json) or with an X-Clearml-Client header)",
        )
    if not _same_origin(headers):
        raise Unauthorized(
            MISSING, "Unauthorized (the session cookie is not accepted from another origin)"
        )
    return f"Bearer {token}"


def set_cookie(token: str, seconds: int) -> str:
    """The Set-Cookie value that starts a session."""
    return f"{COOKIE}={token}; Path=/; Max-Age={seconds}; HttpOnly; SameSite=Strict"


def clear_cookie() -> str:
    """The Set-Cookie value that ends one."""
    return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
