"""Fault injection: latency, error statuses, broken bodies and dropped connections.

Faults that replace the answer before the handler runs (nothing is applied):
``latency`` (then the real answer), ``status`` (``status``/``body``, JSON), ``html``
(an HTML error page with ``status``), ``empty`` (``status`` with no body) and
``drop_before`` (the connection closes before any answer). Faults that break the
answer after the handler ran (its effect applied): ``malformed`` (not JSON),
``truncated`` (the connection drops mid-body), ``truncated_json`` (a complete answer
whose JSON is cut short), ``wrong_types`` (every value but those named in ``keep``
of another type), ``missing_keys`` (every key but those in ``keep`` removed),
``drop_after_apply``, and ``slow_answer`` (the effect applied at once, the answer
``seconds`` later). A rule with ``until`` retires at that sandbox-clock time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
import json
import random
import re
from typing import Any, Literal, cast, get_args

from aiohttp import web

FaultKind = Literal[
    "latency",
    "status",
    "html",
    "empty",
    "drop_before",
    "malformed",
    "truncated",
    "truncated_json",
    "wrong_types",
    "missing_keys",
    "drop_after_apply",
    "slow_answer",
]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# Faults that replace or break the answer after the handler ran (and applied its effect).
_AFTER_HANDLER: frozenset[str] = frozenset(
    (
        "malformed",
        "truncated",
        "truncated_json",
        "wrong_types",
        "missing_keys",
        "drop_after_apply",
        "slow_answer",
    )
)
# Keys a body keeps under ``wrong_types`` and ``missing_keys`` unless told otherwise:
# the providers' success markers, so the answer still reads as a success.
DEFAULT_KEEP: tuple[str, ...] = ("success", "status")
# JSEcoin's own per-key limit of getblock, a refusal on HTTP 400 that is a rate limit.
JSECOIN_GETBLOCK_LIMIT_BODY = (
    '{"fail": 1, "notification": "API Limit reached: 60 getblock requests per 30 mins"}'
)
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FaultRule:
    """One fault, matched against a request's provider, method and path."""

    kind: FaultKind
    provider: str | None = None
    method: str | None = None
    path: str | None = None  # a regular expression searched in the request path
    count: int | None = None  # fire this many times, then retire; None: forever
    probability: float = 1.0
    seconds: float = 0.0  # latency
    status: int = 503
    body: str = '{"status": "error", "message": "Service temporarily unavailable"}'
    retry_after: float | None = None
    keep: tuple[str, ...] = DEFAULT_KEEP  # wrong_types, missing_keys
    until: float | None = None  # sandbox-clock unix time at which the rule retires

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from the admin API's JSON, refusing unknown keys and kinds."""
        known = {field.name for field in fields(cls)}
        if unknown := set(data) - known:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if data.get("kind") not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
        if "path" in data and data["path"] is not None:
            try:
                re.compile(data["path"])
            except re.error as err:
                raise ValueError(f"path is not a regular expression: {err}") from None
        if "keep" in data:
            data = {**data, "keep": tuple(str(key) for key in data["keep"])}
        return cls(**data)

    def matches(self, provider: str | None, request: web.Request) -> bool:
        """Tell whether this rule applies to ``request``."""
        return (
            (self.provider is None or self.provider == provider)
            and (self.method is None or self.method.upper() == request.method)
            and (self.path is None or re.search(self.path, request.path) is not None)
        )


class FaultInjector:
    """The active fault rules, consulted by the sandbox middleware."""

    def __init__(
        self, rng: random.Random, now: Callable[[], float] | None = None
    ) -> None:
        """Draw probabilities from the sandbox's seeded generator.

        ``now`` is the sandbox clock that retires rules with ``until``.
        """
        self._rng = rng
        self._now = now
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Activate a rule."""
        self.rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def as_list(self) -> list[dict[str, Any]]:
        """Return the active rules as JSON-ready dicts."""
        return [asdict(rule) for rule in self.rules]

    def _fire(
        self, provider: str | None, request: web.Request, after: bool
    ) -> FaultRule | None:
        if self._now is not None:
            now = self._now()
            self.rules[:] = [
                rule for rule in self.rules if rule.until is None or now < rule.until
            ]
        for rule in self.rules:
            if (rule.kind in _AFTER_HANDLER) != after or not rule.matches(
                provider, request
            ):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    async def handle(
        self, provider: str | None, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Run ``handler`` with whatever faults match the request."""
        rule = self._fire(provider, request, after=False)
        if rule is not None:
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds)
            elif rule.kind == "status":
                headers = {}
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(int(rule.retry_after))
                return web.Response(
                    status=rule.status,
                    text=rule.body,
                    content_type="application/json",
                    headers=headers,
                )
            elif rule.kind == "html":
                return web.Response(
                    status=rule.status, text=HTML_ERROR_PAGE, content_type="text/html"
                )
            elif rule.kind == "empty":
                return web.Response(status=rule.status, body=b"")
            else:  # drop_before: the request never reaches the provider
                _drop(request)
        response = await handler(request)
        rule = self._fire(provider, request, after=True)
        if rule is None:
            return response
        body = cast("web.Response", response).body
        raw = body if isinstance(body, bytes) else b""
        if rule.kind == "malformed":
            return web.Response(
                status=response.status,
                text="<html>Bad gateway</html>{",
                content_type="text/html",
            )
        if rule.kind == "truncated":
            return await _truncated(request, response.status, raw)
        if rule.kind == "slow_answer":
            await asyncio.sleep(rule.seconds)
            return response
        if rule.kind == "truncated_json":
            return _replaced(response, raw[: len(raw) // 2])
        if rule.kind in {"wrong_types", "missing_keys"}:
            change = _retyped if rule.kind == "wrong_types" else _stripped
            try:
                decoded = json.loads(raw)
            except ValueError:
                return response  # not JSON: nothing to change
            keep = frozenset(rule.keep)
            return _replaced(response, json.dumps(change(decoded, keep)).encode())
        _drop(request)  # drop_after_apply: the effect happened, the answer never leaves
        raise AssertionError("unreachable")  # pragma: no cover


def _drop(request: web.Request) -> None:
    """Close the connection without an answer."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


async def _truncated(
    request: web.Request, status: int, body: bytes
) -> web.StreamResponse:
    """Announce the whole body, send half of it, then close the connection."""
    response = web.StreamResponse(status=status)
    response.content_type = "application/json"
    response.content_length = max(len(body), 2)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    _drop(request)
    return response  # pragma: no cover


def _replaced(response: web.StreamResponse, body: bytes) -> web.Response:
    """Return ``response``'s status and headers with another body."""
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in {"content-length", "content-type"}
    }
    return web.Response(
        status=response.status,
        body=body,
        content_type="application/json",
        headers=headers,
    )


def _other_type(value: Any) -> Any:
    """Return a value of another JSON type than ``value``."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "many"
    if isinstance(value, str):
        return []
    if value is None:
        return []
    return None  # a list or object becomes null


def _retyped(value: Any, keep: frozenset[str]) -> Any:
    """Give every value but those under a kept key another type, recursively."""
    if isinstance(value, dict):
        return {
            key: item if key in keep else _retyped_leaf(item, keep)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_retyped_leaf(item, keep) for item in value]
    return _other_type(value)


def _retyped_leaf(value: Any, keep: frozenset[str]) -> Any:
    if isinstance(value, dict | list) and value:
        return _retyped(value, keep)
    return _other_type(value)


def _stripped(value: Any, keep: frozenset[str]) -> Any:
    """Remove every key but the kept ones, at every depth."""
    if isinstance(value, dict):
        return {
            key: _stripped(item, keep) for key, item in value.items() if key in keep
        }
    if isinstance(value, list):
        return [_stripped(item, keep) for item in value]
    return value
