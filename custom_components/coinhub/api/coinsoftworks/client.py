"""Async client of the coinsoftworks account-automation API.

The account's simple access token (``1_…``) buys a bearer token at
``POST {base}/authentication/{api_key}``; every other call carries
``Authorization: Bearer …``. Authenticating too often is refused (HTTP 429), so the
bearer is kept in a :class:`TokenCache` until shortly before it expires. Every client
of one account should share one cache: the caller keeps it and hands it in.

The API key is a path segment, so every URL carries it: no URL and no aiohttp
exception (which may quote one) ever becomes part of an error message. Neither do the
access token and the bearer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import partial
import json
import logging
import re
import time
from typing import Any, Final

import aiohttp
from yarl import URL

from .._http import (
    Answer,
    Call,
    ProviderClient,
    decode_json,
    join_url,
    retry_after_seconds,
    safe_segment,
)
from ..exceptions import (
    AuthenticationError,
    CoinHubError,
    InvalidInputError,
    ProviderRefusedError,
    RateLimitedError,
)
from .models import Action, BearerToken, Execution, Settings, User

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://www.coinsoftworks.com/_functions"
ACCESS_TOKEN_HEADER: Final = "X-SIMPLE-API-ACCESS-TOKEN"  # noqa: S105 - a header name
DEFAULT_REFRESH_MARGIN: Final = 60.0
UNAUTHORIZED_MESSAGE: Final = (
    "unauthorized: check the account API key or enable API access"
)

# Trading the access token for a bearer changes nothing: it may be sent again.
_AUTHENTICATE_CALL: Final = Call("/authentication", writes=False)

_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_MAX_MESSAGE_LENGTH = 300
# The documented text of refused credentials, answered with HTTP 500.
_UNAUTHORIZED = re.compile(r"\s*(?:500\s+)?unauthori[sz]ed\b", re.IGNORECASE)

# --- ASSUMPTION --------------------------------------------------------------------
# Executing and monitoring actions is not in the public document (it is in the
# provider's private library). We assume:
#   POST {base}/actions/{api_key}/{action_id}  json {"parameters": {...}}
#        -> {"execution_id", "status"}
#   GET  {base}/executions/{api_key}/{execution_id}
#        -> {"execution_id", "action_id", "status", "result", "message"}
# The shape of the answers and of an action's "parameters" is parsed in models.py,
# marked the same way.
_EXECUTE_ENDPOINT: Final = "actions"  # followed by the api_key and the action_id
_EXECUTION_ENDPOINT: Final = (
    "executions"  # followed by the api_key and the execution_id
)
_EXECUTE_CALL: Final = Call(f"/{_EXECUTE_ENDPOINT}", writes=True)
# --- end of ASSUMPTION ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Issued:
    """A freshly issued bearer token and the server's time when it was issued."""

    token: BearerToken
    server_time: float | None


class TokenCache:
    """The bearer token of one account, for every client of that account.

    A token is reused until ``refresh_margin`` seconds before it expires. Its lifetime
    is measured against the server's clock (its ``Date`` header), so a local clock that
    is off does not make the cache hold an expired token, or drop a good one. Callers
    that need a token at the same time share one authentication.
    """

    def __init__(
        self,
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Refresh ``refresh_margin`` seconds before expiry; ``clock`` is the local time.

        Without ``clock`` the cache reads :func:`time.time` at each call (not once at
        import), so a test clock that replaces it is followed.
        """
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: BearerToken | None = None
        self._issuer: str | None = None
        self._refresh_at = 0.0
        self._pending: asyncio.Future[BearerToken] | None = None

    def __repr__(self) -> str:
        """Tell whether a token is held, never the token."""
        return f"TokenCache(holds_token={self._token is not None})"

    def _now(self) -> float:
        return self._clock() if self._clock is not None else time.time()

    def fresh_token(self, issuer: str) -> BearerToken | None:
        """Return the held token if ``issuer`` (a base URL) issued it and it is fresh."""
        if (
            self._token is not None
            and self._issuer == issuer
            and self._now() < self._refresh_at
        ):
            return self._token
        return None

    def discard(self, token: BearerToken) -> None:
        """Forget ``token`` (refused by the server), unless it was already replaced."""
        if self._token is token:
            self._token = None
            self._issuer = None

    def clear(self) -> None:
        """Forget the held token."""
        self._token = None
        self._issuer = None

    async def get(
        self, issuer: str, authenticate: Callable[[], Awaitable[_Issued]]
    ) -> BearerToken:
        """Return a fresh token of ``issuer``, authenticating once when there is none.

        Concurrent callers wait for the same authentication and share its outcome,
        including its failure.
        """
        if (token := self.fresh_token(issuer)) is not None:
            return token
        pending = self._pending
        if (
            pending is None
            or pending.done()
            or pending.get_loop() is not asyncio.get_running_loop()
        ):
            pending = asyncio.ensure_future(self._authenticate(issuer, authenticate))
            pending.add_done_callback(_retrieve_exception)
            self._pending = pending
        # Shielded: a cancelled caller must not cancel the others' authentication.
        return await asyncio.shield(pending)

    async def _authenticate(
        self, issuer: str, authenticate: Callable[[], Awaitable[_Issued]]
    ) -> BearerToken:
        try:
            issued = await authenticate()
        finally:
            self._pending = None
        self._store(issuer, issued)
        return issued.token

    def _store(self, issuer: str, issued: _Issued) -> None:
        now = self._now()
        server_now = issued.server_time if issued.server_time is not None else now
        lifetime = issued.token.expiration.timestamp() - server_now
        # A token shorter-lived than twice the margin is used for half its life.
        self._refresh_at = now + lifetime - min(self._refresh_margin, lifetime / 2)
        self._token = issued.token
        self._issuer = issuer


def _retrieve_exception(future: asyncio.Future[BearerToken]) -> None:
    """Mark a failed authentication as seen when every caller has gone away."""
    if not future.cancelled():
        future.exception()


class _BearerRefusedError(CoinHubError):
    """HTTP 401: the bearer expired or was revoked; nothing was applied."""


class CoinsoftworksClient(ProviderClient):
    """Calls to the coinsoftworks API for one account.

    The session is injected and never closed here. ``execute_action`` is sent at most
    once (again only after a 401, which proves it was not applied); when its answer is
    lost it raises :class:`OutcomeUnknownError`.
    """

    provider = "coinsoftworks"
    lost_write = "the action may have started"
    message_limit = _MAX_MESSAGE_LENGTH

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 10,
        token_cache: TokenCache | None = None,
    ) -> None:
        """Keep the account's credentials; nothing is sent until a call is made."""
        super().__init__(session, base_url=base_url, request_timeout=request_timeout)
        self._api_key = api_key
        self._key_segment = safe_segment("api_key", api_key)
        self._access_token = _checked_access_token(access_token)
        self._tokens = token_cache if token_cache is not None else TokenCache()

    def __repr__(self) -> str:
        """Name the server, never the credentials."""
        return f"CoinsoftworksClient(base_url={self._base_url!r})"

    def _secrets(self) -> tuple[str, ...]:
        held = self._tokens.fresh_token(self._base_url)
        bearer = () if held is None else (held.token,)
        return (self._api_key, self._access_token, self._key_segment, *bearer)

    @property
    def token_cache(self) -> TokenCache:
        """The cache holding this account's bearer token."""
        return self._tokens

    async def authenticate(self) -> BearerToken:
        """Return a bearer token: the cached one while fresh, else a new one."""
        return await self._tokens.get(self._base_url, self._issue_token)

    async def user(self) -> User:
        """Return the account's username and purchased plan."""
        return User.from_api(await self._call("GET", "user"))

    async def settings(self) -> Settings:
        """Return the account's settings."""
        return Settings.from_api(await self._call("GET", "settings"))

    async def actions(self) -> tuple[Action, ...]:
        """Return every action the account can see, enabled or not."""
        return Action.many_from_api(await self._call("GET", "actions"))

    async def execute_action(
        self, action_id: str, parameters: Mapping[str, Any] | None = None
    ) -> Execution:
        """Start an action; its execution is then followed with :meth:`execution`.

        Sent at most once: a lost answer raises :class:`OutcomeUnknownError`, since
        the action may have started.
        """
        segment = safe_segment("action_id", action_id)
        body = {"parameters": _checked_parameters(parameters)}
        answer = await self._call("POST", _EXECUTE_ENDPOINT, segment, json_body=body)
        return self._parsed(
            _EXECUTE_CALL, partial(Execution.from_api, action_id=action_id), answer
        )

    async def execution(self, execution_id: str) -> Execution:
        """Return where an execution stands."""
        segment = safe_segment("execution_id", execution_id)
        return Execution.from_api(await self._call("GET", _EXECUTION_ENDPOINT, segment))

    # Transport

    def _url(self, endpoint: str, *segments: str) -> URL:
        return join_url(self._base_url, (endpoint, self._key_segment, *segments))

    async def _issue_token(self) -> _Issued:
        """Exchange the access token for a bearer token."""

        headers = {ACCESS_TOKEN_HEADER: self._access_token}
        url = self._url("authentication")
        answer = await self._request("POST", url, _AUTHENTICATE_CALL, headers=headers)
        if answer.status == 401:
            raise AuthenticationError(UNAUTHORIZED_MESSAGE)
        body = self._read(_AUTHENTICATE_CALL, answer)
        server_time = _server_time(answer.headers.get("Date"))
        return _Issued(BearerToken.from_api(body), server_time)

    async def _call(
        self,
        method: str,
        endpoint: str,
        *segments: str,
        json_body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send an authorised call; after a 401, authenticate again and retry once."""
        token = await self.authenticate()
        try:
            return await self._send(method, endpoint, segments, token, json_body)
        except _BearerRefusedError:
            self._tokens.discard(token)
        token = await self.authenticate()
        try:
            return await self._send(method, endpoint, segments, token, json_body)
        except _BearerRefusedError:
            self._tokens.discard(token)
            raise AuthenticationError(
                "coinsoftworks refused a freshly issued bearer token"
            ) from None

    async def _send(
        self,
        method: str,
        endpoint: str,
        segments: tuple[str, ...],
        token: BearerToken,
        json_body: Mapping[str, Any] | None,
    ) -> Any:
        call = Call(f"/{endpoint}", writes=method != "GET")
        options: dict[str, Any] = {
            "headers": {"Authorization": f"Bearer {token.token}"}
        }
        if call.writes:
            options["json"] = json_body
        answer = await self._request(
            method, self._url(endpoint, *segments), call, **options
        )
        if answer.status == 401:
            raise _BearerRefusedError("bearer token refused")
        return self._read(call, answer)

    def _read(self, call: Call, answer: Answer) -> Any:
        """Turn an answer into its JSON body, or into the error its status stands for."""
        status, raw = answer.status, answer.body
        _LOGGER.debug("coinsoftworks %s: HTTP %s", call.name, status)
        if status in {429, 503}:
            raise RateLimitedError(
                "coinsoftworks is throttling requests (too many requests)",
                retry_after=retry_after_seconds(answer.headers.get("Retry-After")),
            )
        body = decode_json(raw)
        if status >= 500:
            # The document answers refused credentials with "500 Unauthorized (check
            # your account API Key or enable it through the settings)": nothing was
            # applied. Any other 5xx is a failing server, not a verdict on the key.
            message = self._error_text(body, raw)
            if _UNAUTHORIZED.match(message):
                raise AuthenticationError(UNAUTHORIZED_MESSAGE)
            quoted = message if message and isinstance(body, Mapping) else None
            raise self._server_fault(call, status, quoted and self._scrubbed(quoted))
        if status in {400, 404} and isinstance(body, Mapping):
            raise ProviderRefusedError(self._refusal_message(body, status))
        if 200 <= status < 300 and body is not None:
            return body
        raise self._unreadable(call, status)

    @staticmethod
    def _error_text(body: Any, raw: bytes) -> str:
        """Return the text of an error answer: its JSON message, else the plain body."""
        if isinstance(body, Mapping):
            message = body.get("message", body.get("error"))
            if isinstance(message, Mapping):
                message = message.get("message")
            return message.strip() if isinstance(message, str) else ""
        if isinstance(body, str):
            return body.strip()
        return raw.decode("utf-8", errors="replace").strip()[:_MAX_MESSAGE_LENGTH]

    def _refusal_message(self, body: Mapping[str, Any], status: int) -> str:
        """Return the provider's refusal text, never echoing a credential back."""
        if not (message := self._error_text(body, b"")):
            return f"coinsoftworks refused the request (HTTP {status})"
        return self._scrubbed(message)


def _server_time(date_header: str | None) -> float | None:
    """Return the server's clock from its ``Date`` header, when it sent a valid one."""
    if not date_header:
        return None
    try:
        return parsedate_to_datetime(date_header).timestamp()
    except TypeError, ValueError, IndexError:
        return None


def _checked_access_token(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError("access_token", "must not be empty")
    if _CONTROL_OR_SPACE.search(value):
        raise InvalidInputError(
            "access_token", "must not contain whitespace or control characters"
        )
    return value


def _checked_parameters(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the parameters as a JSON object, refusing what JSON cannot carry."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping) or not all(
        isinstance(name, str) and name for name in parameters
    ):
        raise InvalidInputError("parameters", "must map parameter names to values")
    checked = dict(parameters)
    try:
        json.dumps(checked, allow_nan=False)
    except ValueError, TypeError:
        raise InvalidInputError(
            "parameters", "must hold only JSON values (text, numbers, lists, maps)"
        ) from None
    return checked
