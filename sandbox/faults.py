"""Fault injection: latency, error statuses, broken bodies and dropped connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
import random
import re
from typing import Any, Literal, cast

from aiohttp import web

FaultKind = Literal[
    "latency", "status", "malformed", "truncated", "drop_before", "drop_after_apply"
]
FAULT_KINDS: frozenset[str] = frozenset(
    ("latency", "status", "malformed", "truncated", "drop_before", "drop_after_apply")
)
# Faults that replace or break the answer after the handler ran (and applied its effect).
_AFTER_HANDLER: frozenset[str] = frozenset(
    ("malformed", "truncated", "drop_after_apply")
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from the admin API's JSON, refusing unknown keys and kinds."""
        known = {field.name for field in fields(cls)}
        if unknown := set(data) - known:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if data.get("kind") not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
        if "path" in data and data["path"] is not None:
            re.compile(data["path"])
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

    def __init__(self, rng: random.Random) -> None:
        """Draw probabilities from the sandbox's seeded generator."""
        self._rng = rng
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
