"""Who is calling: HTTP Basic with an access/secret key pair, or a bearer token from auth.login.

Tokens are JWTs (HS256, signed with a server secret kept in the database so every process
agrees; the key's id is the `kid` header, and keys rotate: http/signing.py). ClearML's SDK
decodes them without checking the signature and reads `api_version`, `exp` and `feature_set`,
so those claims are always there. A token stays valid only while the credential it was issued
for is not revoked.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import msgspec
from sqlalchemy import Engine

from tasktrack.http.envelope import API_VERSION
from tasktrack.http.ratelimit import FailureLimiter
from tasktrack.http.signing import KeyRing
from tasktrack.queries.reading import reading
from tasktrack.service import Caller
from tasktrack.store import credentials, sessions
from tasktrack.store.signing_keys import TOKEN_SECONDS

DEFAULT_TOKEN_SECONDS = TOKEN_SECONDS


class Unauthorized(Exception):
    """401: missing, malformed, wrong or revoked credentials, or a bad or expired token."""

    def __init__(self, subcode: int, message: str) -> None:
        super().__init__(message)
        self.subcode = subcode
        self.message = message


# ClearML's 401 subcodes.
MISSING = 20  # no credentials
MALFORMED = 21  # a header that cannot be read
INVALID = 22  # wrong key or secret, or a revoked credential
BAD_TOKEN = 30  # a token that is forged, expired, or whose credential was revoked


class Token(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_in: int


class Authenticator:
    """Turns an Authorization header into a Caller (company and user come from here only)."""

    def __init__(
        self,
        engine: Engine,
        limiter: FailureLimiter,
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
    ) -> None:
        self.engine = engine
        self.limiter = limiter
        self.token_seconds = token_seconds
        self.verified = credentials.SuccessCache()
        # A superseded key verifies for one token lifetime: what it signed has expired by then.
        self.keys = KeyRing(engine, grace=timedelta(seconds=token_seconds))

    def caller(self, authorization: str | None, address: str = "") -> Caller:
        if not authorization:
            raise Unauthorized(MISSING, "Unauthorized (missing credentials)")
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            cred = self._basic(value.strip(), address)
        elif scheme == "bearer":
            cred = self._bearer(value.strip())
        else:
            raise Unauthorized(MALFORMED, f"Unauthorized (unsupported authorization {scheme!r})")
        return Caller(company=cred.company, user=cred.user, client=cred.access_key)

    def login(self, authorization: str | None, address: str = "") -> Token:
        """auth.login: Basic credentials in, a signed token out."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            raise Unauthorized(MISSING, "Unauthorized (auth.login needs HTTP Basic credentials)")
        cred = self._basic(value.strip(), address)
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": cred.access_key,
            "identity": {"company": cred.company, "user": cred.user, "role": "user"},
            "api_version": API_VERSION,
            "server_version": "tasktrack",
            "feature_set": "basic",
            "auth_type": "bearer_token",
            "env": "tasktrack",
            "iat": now,
            "exp": now + self.token_seconds,
            "jti": uuid.uuid4().hex,  # what a logout revokes
        }
        key = self.keys.signing()
        token = jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})
        return Token(token=token, expires_in=self.token_seconds)

    def _basic(self, value: str, address: str) -> credentials.Credential:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(MALFORMED, "Unauthorized (malformed basic credentials)") from None
        access_key, sep, secret_key = decoded.partition(":")
        if not sep or not access_key or not secret_key:
            raise Unauthorized(MALFORMED, "Unauthorized (malformed basic credentials)")
        # A pair that succeeded before in this process is not held to the failure budgets: a
        # flood of wrong secrets for someone's key (from anywhere) must not lock its owner out.
        # Anyone else is checked before the scrypt, so a flood costs no CPU.
        if not self.verified.knows(access_key, secret_key):
            self.limiter.check(access_key, address)
        with reading(self.engine, None) as conn:  # ends with COMMIT: queries/reading.py says why
            cred = credentials.verify(conn, access_key, secret_key, self.verified)
        if cred is None:
            self.limiter.failed(access_key, address)
            raise Unauthorized(INVALID, "Unauthorized (invalid credentials)")
        return cred

    def logout(self, authorization: str | None) -> None:
        """login.logout: the session token presented is refused from now on (a token that is
        not valid any more, or no token at all, has nothing to revoke)."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return
        try:
            claims = self._claims(value.strip())
        except Unauthorized:
            return
        jti, exp = claims.get("jti"), claims.get("exp")
        if isinstance(jti, str) and isinstance(exp, int):
            with self.engine.begin() as conn:
                sessions.revoke(conn, jti, datetime.fromtimestamp(exp, UTC))

    def _bearer(self, token: str) -> credentials.Credential:
        claims = self._claims(token)
        access_key = claims.get("sub")
        if not isinstance(access_key, str):
            raise Unauthorized(BAD_TOKEN, "Unauthorized (invalid token)")
        jti = claims.get("jti")
        with reading(self.engine, None) as conn:
            if isinstance(jti, str) and sessions.is_revoked(conn, jti):
                raise Unauthorized(BAD_TOKEN, "Unauthorized (the token was revoked by a logout)")
            cred = credentials.active(conn, access_key)
        if cred is None:
            raise Unauthorized(BAD_TOKEN, "Unauthorized (the token's credential was revoked)")
        return cred

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            # No kid: a token issued before keys rotated, checked with the first key.
            secret = self.keys.verifying(kid) if kid is None or isinstance(kid, str) else None
            if secret is None:  # an unknown or retired key: as good as a forged signature
                raise Unauthorized(BAD_TOKEN, "Unauthorized (invalid token)")
            claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized(BAD_TOKEN, "Unauthorized (token expired)") from None
        except jwt.InvalidTokenError:
            raise Unauthorized(BAD_TOKEN, "Unauthorized (invalid token)") from None
        if not isinstance(claims, dict):
            raise Unauthorized(BAD_TOKEN, "Unauthorized (invalid token)")
        return claims
