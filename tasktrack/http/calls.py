"""How an endpoint is declared (Spec) and what its run is handed (Call): one shape for all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tasktrack.api import Client
from tasktrack.http.auth import Authenticator


class Call:
    """One call as an endpoint sees it: the client acting for the credential's caller (none on
    an anonymous endpoint), the idempotency key, and what auth.login checks itself."""

    def __init__(
        self,
        *,
        auth: Authenticator,
        authorization: str | None,
        address: str,
        client: Client | None = None,
        request_id: str | None = None,
    ) -> None:
        self.auth = auth
        self.authorization = authorization
        self.address = address
        self.request_id = request_id
        self._client = client

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("an anonymous endpoint has no caller")
        return self._client


class Spec(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint. `request` is the body's type (also what the OpenAPI document shows)."""

    name: str
    request: Any
    run: Callable[[Call, Any], Any]
    summary: str
    body: str = "json"  # "json", "event" (one event, NaN literals allowed) or "ndjson"
    # For bodies with keys no Struct can name (get_all's `last_metrics.<mh>.<vh>.<field>`):
    # the body is decoded as a JSON object and handed to this instead of the Struct decoder.
    parse: Callable[[dict[str, Any]], Any] | None = None
    # Anonymous endpoints run without a credential (debug.ping; auth.login checks its own).
    anonymous: bool = False


class Answered(msgspec.Struct, frozen=True, kw_only=True):
    """What an endpoint returns to answer with headers too (auth.login's Set-Cookie)."""

    data: Any
    headers: dict[str, str]
