"""What every provider of the sandbox shares, and the keys it is found under."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import formatdate
import json
import math
from pathlib import Path
import random
from typing import Any

from aiohttp import web

from .clock import Clock
from .faults import FaultInjector

SEEDS_DIR = Path(__file__).parent / "seeds"


@dataclass
class SandboxContext:
    """What every provider of the sandbox shares: the clock, randomness and seed data."""

    seed: dict[str, Any]
    clock: Clock = field(default_factory=Clock)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    faults: FaultInjector = field(init=False)
    # (provider, method, route template) -> count; templates carry no secrets.
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        """Give the fault injector the same seeded randomness and the clock."""
        self.faults = FaultInjector(self.rng, now=self.clock.now)

    def provider_seed(self, name: str) -> dict[str, Any]:
        """Return the seed of one provider: the given seed's section, else the default file."""
        if name in self.seed:
            section: dict[str, Any] = self.seed[name]
            return section
        default: dict[str, Any] = json.loads((SEEDS_DIR / f"{name}.json").read_text())
        return default


CONTEXT: web.AppKey[SandboxContext] = web.AppKey("context", SandboxContext)
PROVIDER: web.AppKey[str] = web.AppKey("provider", str)


def date_from_clock(api: web.Application, clock: Clock) -> None:
    """Stamp every answer of ``api`` with a ``Date`` read from the sandbox clock.

    aiohttp stamps the real time; a provider whose clients learn its time from
    ``Date`` must tell its own.
    """

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Date"] = formatdate(clock.now(), usegmt=True)

    api.on_response_prepare.append(stamp)


async def json_object(request: web.Request) -> dict[str, Any]:
    """Return an admin request's JSON object body (none is ``{}``), else HTTP 400."""
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def wait_beyond_limit(
    recent: deque[float], now: float, limit: int, window: float
) -> int | None:
    """Count a request at ``now`` in a sliding window of ``limit`` per ``window`` s.

    ``recent`` holds the times of the requests counted so far. Returns ``None`` when
    the request is counted, or the whole seconds to wait when the window is full (the
    request is then not counted).
    """
    while recent and recent[0] <= now - window:
        recent.popleft()
    if len(recent) >= limit:
        return max(1, math.ceil(recent[0] + window - now))
    recent.append(now)
    return None
