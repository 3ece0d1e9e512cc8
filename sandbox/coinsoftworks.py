"""The coinsoftworks API: bearer tokens, account reads, and actions that run over time.

Behaviour (what the client and the tests rely on):

* ``POST /authentication/{api_key}`` with header ``X-SIMPLE-API-ACCESS-TOKEN`` answers
  ``{"bearer_token", "expiration", "ticks"}``: the token is valid for ``token_ttl``
  seconds, ``expiration`` is ISO 8601 UTC with ``Z`` and ``ticks`` are the .NET ticks of
  the expiration (the magnitude of the document's example). A missing header is HTTP
  400; an unknown key, a wrong access token or an account whose API access is off is
  HTTP 500 with the document's "Unauthorized (…)" text; authenticating again within
  ``min_auth_interval`` seconds is HTTP 429 with ``Retry-After``.
* ``GET /user|settings|actions/{api_key}`` need ``Authorization: Bearer`` with an
  unexpired token of that account, else HTTP 401 (an unknown key or API access off is
  HTTP 500, checked first).
* Accepted calls count against the account's throttle (``rate_limit.requests`` per
  ``rate_limit.window`` seconds): beyond it HTTP 503 with ``Retry-After``.
* Assumed by the client (not in the public document): ``POST /actions/{api_key}/{id}``
  with ``{"parameters": {…}}`` answers ``{"execution_id", "status": "queued"}``; an
  unknown action is HTTP 404, a disabled one or missing/unknown parameters HTTP 400.
  ``GET /executions/{api_key}/{id}`` reports the execution: ``queued`` for
  ``queued_seconds``, ``running`` for the action's ``duration``, then the action's
  ``outcome``, ``completed`` with a ``result`` or ``failed`` with a ``message`` (an
  action whose ``message`` is ``""`` fails without one). An action seeded or added with
  ``"action_type": null`` is listed without ``action_type``; without the key it is an
  ``"eWallet Action"``.
* Every error body is ``{"message": …}`` with one of the texts below. Every answer's
  ``Date`` header comes from the sandbox clock.

Time comes only from ``context.clock`` and randomness only from ``context.rng``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import hmac
import math
from typing import Any, Final

from aiohttp import web

from .context import (
    SandboxContext,
    date_from_clock,
    json_object,
    wait_beyond_limit,
)

ACCESS_TOKEN_HEADER: Final = "X-SIMPLE-API-ACCESS-TOKEN"  # noqa: S105 - a header name
DEFAULT_TOKEN_TTL: Final = 3600.0
DEFAULT_MIN_AUTH_INTERVAL: Final = 10.0
DEFAULT_RATE_LIMIT: Final = 60
DEFAULT_RATE_WINDOW: Final = 60.0
DEFAULT_QUEUED_SECONDS: Final = 1.0
# Seconds between 0001-01-01 (where .NET ticks start) and the unix epoch.
_DOTNET_EPOCH_OFFSET: Final = 62_135_596_800
_TICKS_PER_SECOND: Final = 10_000_000

# The document's texts (HTTP 400, 429, 500) and the sandbox's own.
BAD_REQUEST: Final = "Bad Request (check the content of your request)"
TOO_MANY_REQUESTS: Final = "Too many requests (avoid sending too many requests)"
UNAUTHORIZED: Final = (
    "Unauthorized (check your account API Key or enable it through the settings)"
)
BEARER_REFUSED: Final = "Unauthorized (the bearer token is missing, invalid or expired)"
THROTTLED: Final = "Service Unavailable (throttled, retry in {} seconds)"
UNKNOWN_ACTION: Final = "Unknown action: {}"
ACTION_DISABLED: Final = "Action {} is disabled"
MISSING_PARAMETERS: Final = "Missing parameters: {}"
UNKNOWN_PARAMETERS: Final = "Unknown parameters: {}"
UNKNOWN_EXECUTION: Final = "Unknown execution: {}"
ACTION_FAILED: Final = "The action failed"

OUTCOMES: Final = frozenset({"completed", "failed"})


class RefusalError(Exception):
    """An error answer: ``{"message": …}`` with an HTTP status and headers."""

    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Keep the status, the message and any headers (``Retry-After``)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """Return the provider's error answer."""
        return web.json_response(
            {"message": self.message}, status=self.status, headers=self.headers
        )


@dataclass
class Action:
    """An action of an account, with how the sandbox runs it."""

    action_id: str
    action_name: str
    action_type: str | None  # None: the action is listed without a type
    action_status: str
    parameters: list[str] = field(default_factory=list)
    duration: float = 2.0
    outcome: str = "completed"
    result: Any = None
    message: str | None = None
    # The id as the seed wrote it: the provider sends some ids as numbers, some as text.
    raw_id: str | int = ""

    @classmethod
    def from_seed(cls, data: Mapping[str, Any]) -> Action:
        """Build an action from a seed or admin entry, refusing nonsense."""
        raw_id = data["action_id"]
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            raise TypeError("action_id must be a number or a string")
        outcome = str(data.get("outcome", "completed"))
        if outcome not in OUTCOMES:
            raise ValueError("outcome must be completed or failed")
        parameters = data.get("parameters") or []
        if not isinstance(parameters, list) or not all(
            isinstance(name, str) and name for name in parameters
        ):
            raise ValueError("parameters must be a list of names")
        return cls(
            action_id=str(raw_id),
            action_name=str(data["action_name"]),
            action_type=None
            if (action_type := data.get("action_type", "eWallet Action")) is None
            else str(action_type),
            action_status=str(data.get("action_status", "Enabled")),
            parameters=list(parameters),
            duration=float(data.get("duration", 2.0)),
            outcome=outcome,
            result=data.get("result"),
            message=data.get("message"),
            raw_id=raw_id,
        )

    @property
    def enabled(self) -> bool:
        """Whether the action may run."""
        return self.action_status.casefold() == "enabled"

    def as_api(self) -> dict[str, Any]:
        """Return the action as ``/actions`` lists it (no ``parameters`` when none)."""
        answer: dict[str, Any] = {
            "action_name": self.action_name,
            "action_id": self.raw_id,
            "action_status": self.action_status,
        }
        if self.action_type is not None:
            answer["action_type"] = self.action_type
        if self.parameters:
            answer["parameters"] = list(self.parameters)
        return answer

    def as_dict(self) -> dict[str, Any]:
        """Return the action with its sandbox behaviour, for the admin API."""
        return {
            **self.as_api(),
            "parameters": list(self.parameters),
            "duration": self.duration,
            "outcome": self.outcome,
            "result": self.result,
            "message": self.message,
        }


@dataclass
class ExecutionRecord:
    """One execution of an action; its status follows the sandbox clock."""

    execution_id: str
    action_id: str
    parameters: dict[str, Any]
    started_at: float
    queued_seconds: float
    duration: float
    outcome: str
    result: Any
    message: str | None

    def status(self, now: float) -> str:
        """Return the status at ``now``: queued, running, then the outcome."""
        elapsed = now - self.started_at
        if elapsed < self.queued_seconds:
            return "queued"
        if elapsed < self.queued_seconds + self.duration:
            return "running"
        return self.outcome

    def as_api(self, now: float) -> dict[str, Any]:
        """Return the execution as ``/executions`` reports it at ``now``."""
        status = self.status(now)
        return {
            "execution_id": self.execution_id,
            "action_id": self.action_id,
            "status": status,
            "result": self.result if status == "completed" else None,
            "message": self.message if status == "failed" else None,
        }

    def as_dict(self, now: float) -> dict[str, Any]:
        """Return the execution with its parameters, for the admin API."""
        return {
            **self.as_api(now),
            "parameters": dict(self.parameters),
            "started_at": self.started_at,
        }


@dataclass
class Account:
    """An account with API access."""

    api_key: str
    access_token: str
    username: str
    purchased_plan: str
    enterprise_mode: bool | str  # sent as seeded: the document shows both shapes
    settings_list: dict[str, Any]
    api_enabled: bool
    actions: dict[str, Action] = field(default_factory=dict)
    executions: dict[str, ExecutionRecord] = field(default_factory=dict)
    auth_count: int = 0
    # Calls refused for a missing, unknown or expired bearer: a client that keeps its
    # token right never causes one.
    refused_bearers: int = 0
    last_auth_at: float | None = None
    recent_requests: deque[float] = field(default_factory=deque)

    @classmethod
    def from_seed(cls, data: Mapping[str, Any]) -> Account:
        """Build an account from its seed entry."""
        account = cls(
            api_key=str(data["api_key"]),
            access_token=str(data["access_token"]),
            username=str(data["username"]),
            purchased_plan=str(data.get("purchased_plan", "Free")),
            enterprise_mode=data.get("enterprise_mode", False),
            settings_list=dict(data.get("settings_list") or {}),
            api_enabled=bool(data.get("api_enabled", True)),
        )
        for entry in data.get("actions", []):
            action = Action.from_seed(entry)
            account.actions[action.action_id] = action
        return account


@dataclass
class Bearer:
    """An issued bearer token: whose it is and until when it is valid."""

    api_key: str
    expires_at: float


class CoinsoftworksState:
    """Accounts, bearer tokens and executions of the coinsoftworks sandbox."""

    def __init__(self, context: SandboxContext) -> None:
        """Load the seed: settings and accounts."""
        seed = context.provider_seed("coinsoftworks")
        self.clock = context.clock
        self.rng = context.rng
        self.token_ttl = float(seed.get("token_ttl", DEFAULT_TOKEN_TTL))
        self.min_auth_interval = float(
            seed.get("min_auth_interval", DEFAULT_MIN_AUTH_INTERVAL)
        )
        rate_limit = seed.get("rate_limit", {})
        self.rate_limit = int(rate_limit.get("requests", DEFAULT_RATE_LIMIT))
        self.rate_window = float(rate_limit.get("window", DEFAULT_RATE_WINDOW))
        self.queued_seconds = float(seed.get("queued_seconds", DEFAULT_QUEUED_SECONDS))
        self.accounts: dict[str, Account] = {}
        for entry in seed.get("accounts", []):
            account = Account.from_seed(entry)
            self.accounts[account.api_key] = account
        self.bearers: dict[str, Bearer] = {}

    def config(self) -> dict[str, Any]:
        """Return the tunable settings, for the admin API."""
        return {
            "token_ttl": self.token_ttl,
            "min_auth_interval": self.min_auth_interval,
            "rate_limit": {"requests": self.rate_limit, "window": self.rate_window},
            "queued_seconds": self.queued_seconds,
        }

    # Authentication and limits

    def account_for(self, api_key: str) -> Account:
        """Return the account of a key with API access on, else the HTTP 500."""
        account = self.accounts.get(api_key)
        if account is None or not account.api_enabled:
            raise RefusalError(500, UNAUTHORIZED)
        return account

    def authenticate(self, api_key: str, access_token: str | None) -> dict[str, Any]:
        """Issue a bearer token for a valid access token."""
        if not access_token:
            raise RefusalError(400, BAD_REQUEST)
        account = self.account_for(api_key)
        if not hmac.compare_digest(
            access_token.encode(), account.access_token.encode()
        ):
            raise RefusalError(500, UNAUTHORIZED)
        self.count_request(account)
        now = self.clock.now()
        if (
            account.last_auth_at is not None
            and now - account.last_auth_at < self.min_auth_interval
        ):
            wait = max(
                1, math.ceil(account.last_auth_at + self.min_auth_interval - now)
            )
            raise RefusalError(429, TOO_MANY_REQUESTS, {"Retry-After": str(wait)})
        account.last_auth_at = now
        account.auth_count += 1
        token = f"sbx.{self.rng.getrandbits(192):048x}"
        expires_at = math.floor(now) + self.token_ttl
        self.bearers[token] = Bearer(account.api_key, expires_at)
        expiration = datetime.fromtimestamp(expires_at, UTC)
        return {
            "bearer_token": token,
            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ticks": int((expires_at + _DOTNET_EPOCH_OFFSET) * _TICKS_PER_SECOND),
        }

    def authorize(self, api_key: str, authorization: str | None) -> Account:
        """Return the account a valid bearer of it opens, else the refusal."""
        account = self.account_for(api_key)
        scheme, _, token = (authorization or "").partition(" ")
        bearer = self.bearers.get(token.strip()) if scheme.lower() == "bearer" else None
        if (
            bearer is None
            or bearer.api_key != account.api_key
            or self.clock.now() >= bearer.expires_at
        ):
            account.refused_bearers += 1
            raise RefusalError(401, BEARER_REFUSED)
        self.count_request(account)
        return account

    def count_request(self, account: Account) -> None:
        """Count an accepted call, or raise HTTP 503 beyond the account's throttle."""
        wait = wait_beyond_limit(
            account.recent_requests, self.clock.now(), self.rate_limit, self.rate_window
        )
        if wait is not None:
            raise RefusalError(503, THROTTLED.format(wait), {"Retry-After": str(wait)})

    def expire_tokens(self, account: Account) -> int:
        """Make every bearer of the account expired now; return how many were live."""
        now = self.clock.now()
        live = 0
        for bearer in self.bearers.values():
            if bearer.api_key == account.api_key and bearer.expires_at > now:
                bearer.expires_at = now
                live += 1
        return live

    def live_tokens(self, account: Account) -> int:
        """Count the account's unexpired bearers."""
        now = self.clock.now()
        return sum(
            1
            for bearer in self.bearers.values()
            if bearer.api_key == account.api_key and bearer.expires_at > now
        )

    # Endpoints

    @staticmethod
    def user(account: Account) -> dict[str, Any]:
        """Answer ``/user``."""
        return {"username": account.username, "purchased_plan": account.purchased_plan}

    @staticmethod
    def settings(account: Account) -> dict[str, Any]:
        """Answer ``/settings``."""
        return {
            "settings_list": dict(account.settings_list),
            "enterprise_mode": account.enterprise_mode,
        }

    @staticmethod
    def actions(account: Account) -> list[dict[str, Any]]:
        """Answer ``/actions``: a bare list, as the document shows."""
        return [action.as_api() for action in account.actions.values()]

    def execute(self, account: Account, action_id: str, body: Any) -> dict[str, Any]:
        """Start an execution of an enabled action with its parameters."""
        action = account.actions.get(action_id)
        if action is None:
            raise RefusalError(404, UNKNOWN_ACTION.format(action_id))
        if not action.enabled:
            raise RefusalError(400, ACTION_DISABLED.format(action_id))
        parameters = body.get("parameters") if isinstance(body, Mapping) else None
        if parameters is None:
            parameters = {}
        if not isinstance(body, Mapping) or not isinstance(parameters, Mapping):
            raise RefusalError(400, BAD_REQUEST)
        if missing := [name for name in action.parameters if name not in parameters]:
            raise RefusalError(400, MISSING_PARAMETERS.format(", ".join(missing)))
        if unknown := sorted(set(parameters) - set(action.parameters)):
            raise RefusalError(400, UNKNOWN_PARAMETERS.format(", ".join(unknown)))
        execution_id = f"exe-{self.rng.getrandbits(48):012x}"
        result = action.result
        if result is None and action.outcome == "completed":
            result = {"tx": f"0x{self.rng.getrandbits(128):032x}"}
        account.executions[execution_id] = ExecutionRecord(
            execution_id=execution_id,
            action_id=action.action_id,
            parameters=dict(parameters),
            started_at=self.clock.now(),
            queued_seconds=self.queued_seconds,
            duration=action.duration,
            outcome=action.outcome,
            result=result,
            # An empty message: the provider fails the execution without a reason.
            message=ACTION_FAILED if action.message is None else action.message,
        )
        return {"execution_id": execution_id, "status": "queued"}

    def execution(self, account: Account, execution_id: str) -> dict[str, Any]:
        """Report an execution of the account."""
        record = account.executions.get(execution_id)
        if record is None:
            raise RefusalError(404, UNKNOWN_EXECUTION.format(execution_id))
        return record.as_api(self.clock.now())

    def account_state(self, account: Account) -> dict[str, Any]:
        """Return an account's whole state for the admin API (no bearer tokens)."""
        now = self.clock.now()
        return {
            "api_key": account.api_key,
            "username": account.username,
            "purchased_plan": account.purchased_plan,
            "enterprise_mode": account.enterprise_mode,
            "settings_list": dict(account.settings_list),
            "api_enabled": account.api_enabled,
            "auth_count": account.auth_count,
            "refused_bearers": account.refused_bearers,
            "live_tokens": self.live_tokens(account),
            "actions": [action.as_dict() for action in account.actions.values()],
            "executions": [
                record.as_dict(now) for record in account.executions.values()
            ],
        }


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _answer(operation: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    """Wrap an operation: its value as JSON, a refusal as the provider's error body."""

    async def handle(request: web.Request) -> web.Response:
        try:
            return web.json_response(await operation(request))
        except RefusalError as refusal:
            return refusal.response()

    return handle


def create_apps(context: SandboxContext) -> tuple[web.Application, web.Application]:
    """Return the API app (mounted at ``/coinsoftworks/_functions``) and its admin app."""
    state = CoinsoftworksState(context)
    api = web.Application()

    def authorized(request: web.Request) -> Account:
        return state.authorize(
            request.match_info["api_key"], request.headers.get("Authorization")
        )

    async def authenticate(request: web.Request) -> Any:
        return state.authenticate(
            request.match_info["api_key"], request.headers.get(ACCESS_TOKEN_HEADER)
        )

    async def user(request: web.Request) -> Any:
        return state.user(authorized(request))

    async def settings(request: web.Request) -> Any:
        return state.settings(authorized(request))

    async def actions(request: web.Request) -> Any:
        return state.actions(authorized(request))

    async def execute(request: web.Request) -> Any:
        account = authorized(request)
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise RefusalError(400, BAD_REQUEST) from None
        return state.execute(account, request.match_info["action_id"], body)

    async def execution(request: web.Request) -> Any:
        account = authorized(request)
        return state.execution(account, request.match_info["execution_id"])

    api.router.add_post("/authentication/{api_key}", _answer(authenticate))
    api.router.add_get("/user/{api_key}", _answer(user))
    api.router.add_get("/settings/{api_key}", _answer(settings))
    api.router.add_get("/actions/{api_key}", _answer(actions))
    api.router.add_post("/actions/{api_key}/{action_id}", _answer(execute))
    api.router.add_get("/executions/{api_key}/{execution_id}", _answer(execution))

    date_from_clock(api, context.clock)
    return api, _admin_app(state)


def _admin_app(state: CoinsoftworksState) -> web.Application:
    """Routes tests and the demo use to look at and steer the provider."""
    admin = web.Application()
    routes = web.RouteTableDef()

    def account_of(request: web.Request) -> Account:
        account = state.accounts.get(request.match_info["api_key"])
        if account is None:
            raise web.HTTPNotFound(text="unknown account")
        return account

    @routes.get("/accounts")
    async def list_accounts(request: web.Request) -> web.Response:
        return web.json_response(
            [state.account_state(account) for account in state.accounts.values()]
        )

    @routes.get("/accounts/{api_key}")
    async def show_account(request: web.Request) -> web.Response:
        return web.json_response(state.account_state(account_of(request)))

    @routes.post("/accounts/{api_key}/api_enabled")
    async def set_api_enabled(request: web.Request) -> web.Response:
        """Turn the account's API access on or off: ``{"enabled": bool}``."""
        account = account_of(request)
        enabled = (await json_object(request)).get("enabled")
        if not isinstance(enabled, bool):
            raise web.HTTPBadRequest(text="enabled must be true or false")
        account.api_enabled = enabled
        return web.json_response(state.account_state(account))

    @routes.post("/accounts/{api_key}/actions")
    async def put_action(request: web.Request) -> web.Response:
        """Add an action, or replace the one with the same id."""
        account = account_of(request)
        try:
            action = Action.from_seed(await json_object(request))
        except (KeyError, ValueError, TypeError) as err:
            raise web.HTTPBadRequest(text=f"invalid action: {err}") from None
        replaced = action.action_id in account.actions
        account.actions[action.action_id] = action
        return web.json_response(action.as_dict(), status=200 if replaced else 201)

    @routes.post("/accounts/{api_key}/expire_tokens")
    async def expire_tokens(request: web.Request) -> web.Response:
        """Expire every bearer of the account now, as if its lifetime had run out."""
        expired = state.expire_tokens(account_of(request))
        return web.json_response({"expired": expired})

    @routes.get("/settings")
    async def show_settings(request: web.Request) -> web.Response:
        return web.json_response(state.config())

    @routes.post("/settings")
    async def change_settings(request: web.Request) -> web.Response:
        """Tune ``token_ttl``, ``min_auth_interval``, ``rate_limit`` or ``queued_seconds``."""
        body = await json_object(request)
        try:
            if "token_ttl" in body:
                state.token_ttl = float(body["token_ttl"])
            if "min_auth_interval" in body:
                state.min_auth_interval = float(body["min_auth_interval"])
            if "queued_seconds" in body:
                state.queued_seconds = float(body["queued_seconds"])
            if "rate_limit" in body:
                limit = body["rate_limit"]
                state.rate_limit = int(limit.get("requests", state.rate_limit))
                state.rate_window = float(limit.get("window", state.rate_window))
        except (ValueError, TypeError, AttributeError) as err:
            raise web.HTTPBadRequest(text=f"invalid settings: {err}") from None
        return web.json_response(state.config())

    admin.add_routes(routes)
    return admin
