"""Measure CoinHub in a real Home Assistant against the sandbox, next to the floor.

Run with ``scripts/bench`` (``--quick`` for the small sizes CI uses, ``--json PATH`` for
where the figures go). A ``HomeAssistant`` instance with a temporary config directory
(no test plugin, no asyncio debug, no coverage) and the sandbox on 127.0.0.1 with every
rate limit lifted, so CPU is measured, not waiting, run in this process; the sandbox on
a thread of its own, whose CPU is left out. The event-loop stall and the memory are
measured against a copy of the sandbox in a child process.

The floor of a refresh is the same HTTP requests, recorded as the sandbox received them
and sent again at once with a bare ``aiohttp.ClientSession`` and ``json.loads``. Each
refresh is paired with its floor in the same run; ratios are taken pair by pair and the
medians are printed. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
import functools
import gc
import json
import logging
import os
from pathlib import Path
import platform
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Home Assistant first: from 2026.11 its package must be imported before httpx.
import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.resolver import ThreadedResolver  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from homeassistant import bootstrap, loader  # noqa: E402
from homeassistant.config_entries import ConfigEntries, ConfigEntry  # noqa: E402
from homeassistant.const import (  # noqa: E402
    CONF_API_KEY,
    CONF_USERNAME,
    __version__ as ha_version,
)
from homeassistant.core import CoreState, EventBus, HomeAssistant  # noqa: E402
from homeassistant.helpers import (  # noqa: E402
    aiohttp_client,
    entity_registry as er,
)
from homeassistant.helpers.entity import Entity  # noqa: E402
from homeassistant.helpers.storage import Store  # noqa: E402
from homeassistant.helpers.update_coordinator import (  # noqa: E402
    DataUpdateCoordinator,
)
from homeassistant.util import dt as dt_util  # noqa: E402
from yarl import URL  # noqa: E402

from sandbox import SandboxContext, create_app  # noqa: E402
from sandbox.context import SEEDS_DIR  # noqa: E402

DOMAIN = "coinhub"
PREFIXES = {
    "jsecoin": "/jsecoin/server/api",
    "coinetize": "/coinetize",
    "coinsoftworks": "/coinsoftworks/_functions",
}
# Each provider's documented limit, as requests per 15 minutes per key.
LIMITS_PER_15_MIN = {"jsecoin": 500, "coinetize": 120 * 15, "coinsoftworks": 60 * 15}
JSECOIN_POLLING_SHARE = 1 / 3  # what the integration aims to keep polling within
UNLIMITED = {"requests": 1_000_000_000, "window": 60}
HEARTBEAT_SECONDS = 0.005
SANDBOX_THREAD = "coinhub-bench-sandbox"
STALL_REPEATS = 3
# A refresh of a few milliseconds scatters by about ±20% from one to the next: a case
# whose refreshes take less than this gets more rounds (Sizes.short_repeats), so its
# medians move less from one run to the next.
SHORT_REFRESH_SECONDS = 0.05
WINDOW_SECONDS = 900.0


# Adapters: the only lines that reach into the integration. When its structure changes
# (where the coordinator lives, who owns the request budget, which clock it reads),
# these are what to update; everything else goes through Home Assistant.


def coordinator_of(entry: ConfigEntry) -> DataUpdateCoordinator[Any]:
    """Return the coordinator polling ``entry``'s account."""
    coordinator: DataUpdateCoordinator[Any] = entry.runtime_data
    return coordinator


def lift_request_budget(entry: ConfigEntry) -> None:
    """Let the entry's client send without its own rate limit (CPU, not waiting).

    Only JSEcoin clients keep a budget of their own; the others rely on the provider's.
    """
    if entry.data["provider"] == "jsecoin":
        coordinator_of(entry).client.budget.requests = UNLIMITED["requests"]


@contextmanager
def integration_clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Make ``now`` the wall clock the coordinators read for their slower cadences."""
    with patch.object(dt_util, "utcnow", now):
        yield


# The sandbox


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as the sandbox received it, enough to send it again."""

    provider: str
    method: str
    path_qs: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


_SKIPPED_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


class Sandbox:
    """The sandbox on loopback, recording every provider request for the floor.

    It runs in this process on a thread and event loop of its own, so its CPU time can
    be left out of what a refresh costs (:func:`cpu_time`).
    """

    def __init__(self, seed: dict[str, Any]) -> None:
        """Build the sandbox from ``seed``; :meth:`start` serves it."""
        self.context = SandboxContext(seed=seed, rng=random.Random(1))
        self.recorded: list[RecordedRequest] = []
        self._app = create_app(self.context)
        self._app.middlewares.append(self._record)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=SANDBOX_THREAD, daemon=True
        )
        self._server: TestServer | None = None
        self.url = URL()

    async def _in_sandbox[T](self, coroutine: Awaitable[T]) -> T:
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        )

    async def start(self) -> None:
        """Serve on a free loopback port."""
        self._thread.start()

        async def serve() -> TestServer:
            server = TestServer(self._app, host="127.0.0.1")
            await server.start_server(access_log=None)
            return server

        self._server = await self._in_sandbox(serve())
        self.url = self._server.make_url("/")

    async def close(self) -> None:
        """Stop serving and end the thread."""
        if self._server is not None:
            await self._in_sandbox(self._server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def base_url(self, provider: str) -> str:
        """Return the base URL of ``provider``."""
        return str(self.url.with_path(PREFIXES[provider]))

    def count(self, provider: str) -> int:
        """Count the requests ``provider`` received so far (the sandbox's own count)."""
        return sum(
            n for (name, _m, _r), n in self.context.requests.items() if name == provider
        )

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        provider = next(
            (
                name
                for name, prefix in PREFIXES.items()
                if request.path.startswith(prefix)
            ),
            None,
        )
        if provider is not None:
            self.recorded.append(
                RecordedRequest(
                    provider=provider,
                    method=request.method,
                    path_qs=request.raw_path,
                    headers=tuple(
                        (k, v)
                        for k, v in request.headers.items()
                        if k.lower() not in _SKIPPED_HEADERS
                    ),
                    body=await request.read(),
                )
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def mine(self, session: aiohttp.ClientSession, account: str) -> None:
        """Credit ``account`` a mining reward: its balance moves, its history grows."""
        await mine(session, self.url, account)


class ChildSandbox:
    """The same sandbox in a child process, for the event-loop stall and the memory.

    In this process the sandbox would serialise a long history on the same loop and
    in the same heap as the integration; in its own process it cannot add to either.
    """

    def __init__(self, seed: dict[str, Any], seed_file: Path) -> None:
        """Keep the seed; :meth:`start` starts the process."""
        self._seed, self._seed_file = seed, seed_file
        self._process: asyncio.subprocess.Process | None = None
        self.url = URL()

    async def start(self) -> None:
        """Start ``python -m sandbox`` on a free loopback port and wait until it answers."""
        self._seed_file.write_text(json.dumps(self._seed))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "sandbox", "--host", "127.0.0.1"),
            *("--port", str(port), "--seed-file", str(self._seed_file)),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.url = URL(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise RuntimeError("the sandbox process did not start")

    async def close(self) -> None:
        """Stop the process."""
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()

    def base_url(self, provider: str) -> str:
        """Return the base URL of ``provider``."""
        return str(self.url.with_path(PREFIXES[provider]))


async def mine(session: aiohttp.ClientSession, sandbox_url: URL, account: str) -> None:
    """Credit ``account`` a mining reward: its balance moves, its history grows."""
    url = sandbox_url.with_path(f"/_admin/jsecoin/accounts/{account}/mine")
    async with session.post(url, json={"value": 0.001}) as response:
        response.raise_for_status()


def jsecoin_account(
    name: str, uid: int, *, lookups: int = 0, history: int = 3
) -> dict[str, Any]:
    """Return the seed of a JSEcoin account with ``lookups`` and ``history`` entries.

    The history is a mining account's: mining rewards a minute apart, every tenth
    entry a transfer to the peer account (those carry keys, a signature and e-mails).
    """
    entries: list[dict[str, Any]] = []
    for number in range(history):
        seconds_ago = (history - number) * 60
        if number % 10 == 9:
            entries.append(
                {
                    "command": "transfer",
                    "to": "peer",
                    "value": "0.5",
                    "reference": f"payout {number}",
                    "seconds_ago": seconds_ago,
                }
            )
        else:
            entries.append(
                {"command": "mining", "value": "0.00125", "seconds_ago": seconds_ago}
            )
    return {
        "name": name,
        "uid": uid,
        "email": f"{name}@example.com",
        "api_key": f"bench-jse-{name}-{uid:012d}",
        "access_level": 2,
        "balance": "1000",
        "lookups": {f"site{n}.example.com": "1.5" for n in range(lookups)},
        "history": entries,
    }


def sandbox_seed(sizes: Sizes) -> dict[str, Any]:
    """Return the seeds: the default providers plus the benchmark's JSEcoin accounts."""
    seeds = {
        name: json.loads((SEEDS_DIR / f"{name}.json").read_text()) for name in PREFIXES
    }
    accounts = [jsecoin_account("peer", 1, history=0), jsecoin_account("plain", 2)]
    accounts += [
        jsecoin_account(f"lookups{n}", 100 + n, lookups=n) for n in sizes.lookups
    ]
    accounts += [
        jsecoin_account(f"fleet{n}", 1000 + n) for n in range(max(sizes.entries))
    ]
    accounts += [
        jsecoin_account(f"history{n}", 5000 + n, history=n) for n in sizes.histories
    ]
    seeds["jsecoin"]["accounts"] = accounts
    for section in seeds.values():
        section["rate_limit"] = dict(UNLIMITED)
    return seeds


# Home Assistant


class LoopbackResolver(ThreadedResolver):
    """aiohttp's plain resolver, closed with Home Assistant like its own."""

    async def real_close(self) -> None:
        """Close the resolver when Home Assistant closes."""
        await self.close()


async def start_home_assistant(config_dir: Path) -> HomeAssistant:
    """Start a bare Home Assistant: registries and config entries, no integrations."""
    hass = HomeAssistant(str(config_dir))
    hass.config.skip_pip = True
    await hass.config.async_set_time_zone("UTC")
    loader.async_setup(hass)
    hass.config_entries = ConfigEntries(hass, {})
    # No mDNS here: the sandbox is an IP address, and zeroconf would need the network
    # integration. Home Assistant's shared session takes this resolver instead.
    hass.data[aiohttp_client.DATA_RESOLVER] = LoopbackResolver()
    await loader.async_get_custom_components(hass)
    if not await bootstrap.async_load_base_functionality(hass):
        raise RuntimeError("Home Assistant did not start")
    hass.set_state(CoreState.running)
    return hass


def config_entry(
    provider: str, title: str, data: dict[str, Any], **options: Any
) -> ConfigEntry:
    """Return a config entry as the config flow makes it; polling is left to the benchmark."""
    return ConfigEntry(
        data={"provider": provider, **data},
        discovery_keys=MappingProxyType({}),
        domain=DOMAIN,
        minor_version=1,
        options=options,
        pref_disable_polling=True,  # the benchmark decides when a refresh happens
        source="user",
        subentries_data=None,
        title=title,
        unique_id=f"bench_{provider}_{title}",
        version=1,
    )


def jsecoin_entry(
    sandbox: Sandbox | ChildSandbox, account: dict[str, Any]
) -> ConfigEntry:
    """Return the entry of a benchmark JSEcoin account, watching all its lookups."""
    return config_entry(
        "jsecoin",
        account["name"],
        {CONF_API_KEY: account["api_key"], "base_url": sandbox.base_url("jsecoin")},
        lookups=list(account["lookups"]),
    )


def coinetize_entry(sandbox: Sandbox) -> ConfigEntry:
    """Return the entry of the default seed's webmaster with its verified website."""
    seed = sandbox.context.provider_seed("coinetize")
    user, site = seed["users"][0], seed["websites"][0]
    return config_entry(
        "coinetize",
        user["username"],
        {
            CONF_USERNAME: user["username"],
            "auth_token": user["auth_token"],
            "base_url": sandbox.base_url("coinetize"),
            "websites": {
                site["subdomain"]: {
                    "website": site["website"],
                    "link_method": site["link_method"],
                    "verified": True,
                }
            },
        },
    )


def coinsoftworks_entry(sandbox: Sandbox) -> ConfigEntry:
    """Return the entry of the default seed's first coinsoftworks account."""
    account = sandbox.context.provider_seed("coinsoftworks")["accounts"][0]
    return config_entry(
        "coinsoftworks",
        account["username"],
        {
            CONF_API_KEY: account["api_key"],
            "access_token": account["access_token"],
            "base_url": sandbox.base_url("coinsoftworks"),
        },
    )


def entity_ids(hass: HomeAssistant, entry: ConfigEntry) -> list[str]:
    """Return the entry's enabled entities."""
    return [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if not e.disabled
    ]


# Measuring


@dataclass(slots=True)
class Sample:
    """One measured call: process CPU and wall time, seconds.

    ``state_machine`` is the part of ``cpu`` Home Assistant spent writing entity states
    and firing events (see :class:`StateMachineClock`).
    """

    cpu: float
    wall: float
    state_machine: float = 0.0


class StateMachineClock:
    """Count the CPU spent in ``Entity.async_write_ha_state`` and ``EventBus.async_fire``.

    What any integration pays to show a change: a state write (and its
    ``state_changed`` event) for each entity that changed, and each event fired. Both
    run on the event loop, so the loop's thread clock counts them; a call made inside
    another is counted once.
    """

    def __init__(self) -> None:
        """Start at zero."""
        self.seconds = 0.0
        self._depth = 0

    def _timed[**P, R](self, method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            if self._depth:
                return method(*args, **kwargs)
            self._depth += 1
            start = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - start
                self._depth -= 1

        return timed

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count while inside."""
        with (
            patch.object(
                Entity, "async_write_ha_state", self._timed(Entity.async_write_ha_state)
            ),
            patch.object(EventBus, "async_fire", self._timed(EventBus.async_fire)),
        ):
            yield


class ScheduledSaves:
    """The delayed saves (``Store.async_delay_save``) scheduled while recording.

    CoinHub saves what a poll changed (a JSEcoin entry's file: its history marker and
    income) a few seconds after the refresh, off it. Polls are a minute or more apart
    in real use, so every poll that changed something pays its writes; here the
    refreshes follow each other closely and the delayed writes would merge. So they
    are written right after the refresh, through the store's ``async_save``, and
    measured apart.
    """

    def __init__(self) -> None:
        """Start with nothing scheduled."""
        self._pending: dict[Store[Any], Callable[[], Any]] = {}

    @property
    def files(self) -> int:
        """How many stores have a save scheduled."""
        return len(self._pending)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Note every delayed save scheduled while inside (and still schedule it)."""
        schedule = Store.async_delay_save

        def delay_save(
            store: Store[Any], data_func: Callable[[], Any], delay: float = 0
        ) -> None:
            self._pending[store] = data_func
            schedule(store, data_func, delay)

        with patch.object(Store, "async_delay_save", delay_save):
            yield

    async def write(self) -> None:
        """Write every scheduled save now; the delayed write is then cancelled."""
        pending, self._pending = self._pending, {}
        for store, data_func in pending.items():
            await store.async_save(data_func())


def thread_cpu_times() -> dict[int, float]:
    """Return the CPU time of every thread of this process but the sandbox's."""
    times: dict[int, float] = {}
    for thread in threading.enumerate():
        if thread.name == SANDBOX_THREAD or thread.ident is None:
            continue
        try:
            times[thread.ident] = time.clock_gettime(
                time.pthread_getcpuclockid(thread.ident)
            )
        except OSError:  # it ended meanwhile
            continue
    return times


async def measure(call: Callable[[], Awaitable[object]]) -> Sample:
    """Run ``call`` once; return its CPU time (every thread but the sandbox's) and wall."""
    clock = StateMachineClock()
    gc.collect()
    with clock.counting():
        before, wall = thread_cpu_times(), time.perf_counter()
        await call()
        wall = time.perf_counter() - wall
        after = thread_cpu_times()
    cpu = sum(spent - before.get(ident, 0.0) for ident, spent in after.items())
    return Sample(cpu, wall, clock.seconds)


async def worst_stall(call: Callable[[], Awaitable[object]]) -> float:
    """Run ``call`` next to a heartbeat; return the worst lateness of a beat, seconds."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    running = True

    async def beat() -> None:
        nonlocal worst
        while running:
            start = loop.time()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            worst = max(worst, loop.time() - start - HEARTBEAT_SECONDS)

    gc.collect()
    task = asyncio.create_task(beat())
    await asyncio.sleep(0)
    await call()
    await asyncio.sleep(HEARTBEAT_SECONDS * 2)  # let the last beat report
    running = False
    await task
    return worst


async def peak_memory(call: Callable[[], Awaitable[object]]) -> int:
    """Run ``call`` under tracemalloc; return its peak above what was held before, bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


async def _send_again(
    session: aiohttp.ClientSession, base: URL, request: RecordedRequest
) -> None:
    """Send one recorded request again and decode its answer."""
    url = base.join(URL(request.path_qs, encoded=True))
    async with session.request(
        request.method,
        url,
        headers=dict(request.headers),
        data=request.body or None,
    ) as response:
        json.loads(await response.read())


async def replay(
    session: aiohttp.ClientSession, base: URL, requests: list[RecordedRequest]
) -> None:
    """The floor: send ``requests`` again, all at once, and decode each answer."""
    await asyncio.gather(*(_send_again(session, base, r) for r in requests))


async def replay_in_order(
    session: aiohttp.ClientSession, base: URL, requests: list[RecordedRequest]
) -> None:
    """The floor in the poll's order: each request sent once the last is answered."""
    for request in requests:
        await _send_again(session, base, request)


class HomeAssistantFloor(DataUpdateCoordinator[int]):
    """The floor inside Home Assistant: the same requests from its shared session.

    A bare coordinator (no entity listens) whose refresh sends :attr:`requests` all at
    once and decodes each answer with ``json.loads``, like the floor: what any
    integration polling through Home Assistant pays before it shows anything. A round
    of several entries gets one per entry (:func:`per_account`), as each entry polls
    through a coordinator of its own.
    """

    def __init__(self, hass: HomeAssistant, base: URL) -> None:
        """Send to ``base`` with Home Assistant's shared session."""
        super().__init__(
            hass,
            logging.getLogger(__name__),
            config_entry=None,
            name="floor",
            update_interval=None,
            always_update=False,
        )
        self._session = aiohttp_client.async_get_clientsession(hass)
        self._base = base
        self.requests: list[RecordedRequest] = []

    async def _async_update_data(self) -> int:
        await replay(self._session, self._base, self.requests)
        return len(self.requests)


def per_account(
    requests: list[RecordedRequest], accounts: int
) -> list[list[RecordedRequest]]:
    """Split a round's requests by account: by their ``Authorization`` header.

    Only a round of several JSEcoin entries has more than one account, and each of
    its requests carries the account's key in that header.
    """
    if accounts == 1:
        return [requests]
    groups: dict[str | None, list[RecordedRequest]] = {}
    for request in requests:
        groups.setdefault(dict(request.headers).get("Authorization"), []).append(
            request
        )
    if None in groups or len(groups) != accounts:
        raise RuntimeError(f"{len(groups)} groups of requests for {accounts} accounts")
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class Round:
    """One measured poll round: the refresh, its floors and the saves it scheduled."""

    sample: Sample
    floor: Sample
    floor_in_order: Sample | None  # only for a case whose requests wait on each other
    ha_floor: Sample
    saves: Sample
    saves_files: int
    sent: list[RecordedRequest]

    @property
    def floor_cpu(self) -> float:
        """The floor's CPU, never zero (it divides)."""
        return max(self.floor.cpu, 1e-9)

    @property
    def own_cpu(self) -> float:
        """The refresh's CPU without its state writes and events."""
        return self.sample.cpu - self.sample.state_machine


@dataclass(slots=True)
class Case:
    """A refresh measured against its floor."""

    group: str
    name: str
    rounds: int  # measured, each paired with its floors
    requests: dict[str, float]  # per provider, median per refresh
    cpu_ms: float
    floor_cpu_ms: float
    cpu_ratio: float
    state_machine_ms: float  # of cpu_ms: entity state writes and events
    own_cpu_ratio: float  # the ratio without them
    ha_floor_cpu_ms: float  # the floor sent from Home Assistant (HomeAssistantFloor)
    ha_floor_ratio: float  # cpu_ms without state writes and events, to that floor
    # The floor sending the requests one after the other, as the poll must when one
    # waits on another's answer (the history, read once the balance has moved).
    floor_in_order_cpu_ms: float | None
    in_order_ratio: float | None
    saves_files: float  # files the refresh scheduled to save (ScheduledSaves)
    saves_cpu_ms: float  # writing them
    with_saves_ratio: float  # cpu_ms and saves_cpu_ms together, to the floor
    wall_ms: float
    floor_wall_ms: float
    wall_ratio: float


@dataclass
class Bench:
    """The running instruments: Home Assistant, the sandbox and the floor's session."""

    hass: HomeAssistant
    sandbox: Sandbox
    session: aiohttp.ClientSession
    repeats: int
    short_repeats: int  # rounds of a case whose refreshes are short
    cases: list[Case] = field(default_factory=list)
    stalls: list[Isolated] = field(default_factory=list)
    last_sent: list[RecordedRequest] = field(default_factory=list)

    async def add(self, entry: ConfigEntry) -> ConfigEntry:
        """Set the entry up and lift its client's own rate limit."""
        await self.hass.config_entries.async_add(entry)
        if entry.state.value != "loaded":
            raise RuntimeError(f"{entry.title} did not load: {entry.state}")
        lift_request_budget(entry)
        return entry

    async def remove(self, *entries: ConfigEntry) -> None:
        """Remove entries and everything they stored."""
        for entry in entries:
            await self.hass.config_entries.async_remove(entry.entry_id)

    async def case(
        self,
        group: str,
        name: str,
        entries: list[ConfigEntry],
        *,
        prepare: Callable[[], Awaitable[object]] | None = None,
        in_order: bool = False,
    ) -> Case:
        """Measure one poll round of ``entries`` (concurrently) against its floor.

        ``in_order``: the poll sends its requests one after the other because each
        waits on the answer before it, so the floor is also measured sending them so.
        """
        coordinators = [coordinator_of(entry) for entry in entries]

        async def refresh() -> None:
            await asyncio.gather(*(c.async_refresh() for c in coordinators))
            for coordinator in coordinators:
                if not coordinator.last_update_success:
                    raise RuntimeError(f"{name}: a refresh failed")

        ha_floors_of_round = [
            HomeAssistantFloor(self.hass, self.sandbox.url) for _ in entries
        ]

        async def ha_floor_round() -> None:
            await asyncio.gather(*(f.async_refresh() for f in ha_floors_of_round))

        async def measured_round() -> Round:
            if prepare is not None:
                await prepare()
            start = len(self.sandbox.recorded)
            saves = ScheduledSaves()
            with saves.recording():
                sample = await measure(refresh)
            sent = self.sandbox.recorded[start:]
            files = saves.files
            written = await measure(saves.write)
            floor = await measure(lambda: replay(self.session, self.sandbox.url, sent))
            floor_in_order = (
                await measure(
                    lambda: replay_in_order(self.session, self.sandbox.url, sent)
                )
                if in_order
                else None
            )
            for ha_floor, requests in zip(
                ha_floors_of_round, per_account(sent, len(entries)), strict=True
            ):
                ha_floor.requests = requests
            ha_floor_sample = await measure(ha_floor_round)
            return Round(
                sample, floor, floor_in_order, ha_floor_sample, written, files, sent
            )

        rounds = [await measured_round() for _ in range(self.repeats)]
        if statistics.median(r.sample.wall for r in rounds) < SHORT_REFRESH_SECONDS:
            more = self.short_repeats - self.repeats
            rounds += [await measured_round() for _ in range(more)]
        per_round = [Counter(r.provider for r in m.sent) for m in rounds]
        asked = {p for counts in per_round for p in counts}

        def median(value: Callable[[Round], float]) -> float:
            return statistics.median(value(m) for m in rounds)

        result = Case(
            group=group,
            name=name,
            rounds=len(rounds),
            requests={
                p: statistics.median(c[p] for c in per_round) / len(entries)
                for p in asked
            },
            cpu_ms=_ms(median(lambda m: m.sample.cpu)),
            floor_cpu_ms=_ms(median(lambda m: m.floor.cpu)),
            cpu_ratio=median(lambda m: m.sample.cpu / m.floor_cpu),
            state_machine_ms=_ms(median(lambda m: m.sample.state_machine)),
            own_cpu_ratio=median(lambda m: m.own_cpu / m.floor_cpu),
            ha_floor_cpu_ms=_ms(median(lambda m: m.ha_floor.cpu)),
            ha_floor_ratio=median(lambda m: m.own_cpu / max(m.ha_floor.cpu, 1e-9)),
            floor_in_order_cpu_ms=_ms(median(_floor_in_order_cpu))
            if in_order
            else None,
            in_order_ratio=median(
                lambda m: m.sample.cpu / max(_floor_in_order_cpu(m), 1e-9)
            )
            if in_order
            else None,
            saves_files=median(lambda m: m.saves_files),
            saves_cpu_ms=_ms(median(lambda m: m.saves.cpu)),
            with_saves_ratio=median(
                lambda m: (m.sample.cpu + m.saves.cpu) / m.floor_cpu
            ),
            wall_ms=_ms(median(lambda m: m.sample.wall)),
            floor_wall_ms=_ms(median(lambda m: m.floor.wall)),
            wall_ratio=median(lambda m: m.sample.wall / max(m.floor.wall, 1e-9)),
        )
        self.last_sent = rounds[-1].sent
        self.cases.append(result)
        print(f"  measured {group}: {name}", file=sys.stderr, flush=True)
        return result


def _ms(seconds: float) -> float:
    return seconds * 1000


def _floor_in_order_cpu(measured: Round) -> float:
    if measured.floor_in_order is None:
        raise RuntimeError("the floor in the poll's order was not measured")
    return measured.floor_in_order.cpu


# The scenarios


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each scale curve goes, and how long the simulated day is."""

    lookups: tuple[int, ...]
    entries: tuple[int, ...]
    histories: tuple[int, ...]
    day_lookups: tuple[int, ...]
    day_hours: float
    repeats: int
    short_repeats: int  # for a case whose refreshes take under SHORT_REFRESH_SECONDS
    setup_repeats: int


FULL = Sizes(
    lookups=(1, 10, 100),
    entries=(1, 10, 50),
    histories=(100, 10_000, 100_000),
    day_lookups=(0, 10, 100),
    day_hours=24,
    repeats=15,
    short_repeats=60,
    setup_repeats=3,
)
QUICK = Sizes(
    lookups=(1, 10),
    entries=(1, 5),
    histories=(100, 2_000),
    day_lookups=(0, 10),
    day_hours=2,
    repeats=1,
    short_repeats=1,
    setup_repeats=1,
)


def account(bench: Bench, name: str) -> dict[str, Any]:
    """Return a benchmark JSEcoin account's seed by name."""
    seed = bench.sandbox.context.provider_seed("jsecoin")
    return next(a for a in seed["accounts"] if a["name"] == name)


async def providers(bench: Bench) -> None:
    """Each provider's refresh, nothing changed, and JSEcoin with one new entry."""
    jse = await bench.add(jsecoin_entry(bench.sandbox, account(bench, "plain")))
    coinetize = await bench.add(coinetize_entry(bench.sandbox))
    coinsoftworks = await bench.add(coinsoftworks_entry(bench.sandbox))
    await bench.case("provider", "jsecoin, nothing changed", [jse])
    await bench.case(
        "provider",
        "jsecoin, one new history entry",
        [jse],
        prepare=lambda: bench.sandbox.mine(bench.session, "plain"),
        in_order=True,
    )
    await bench.case("provider", "coinetize, nothing changed (1 website)", [coinetize])
    await bench.case("provider", "coinsoftworks, nothing changed", [coinsoftworks])
    await bench.remove(jse, coinetize, coinsoftworks)


async def lookups(bench: Bench, sizes: Sizes) -> None:
    """A JSEcoin refresh with 1, 10, 100 lookups; the floor asks them concurrently."""
    for count in sizes.lookups:
        entry = await bench.add(
            jsecoin_entry(bench.sandbox, account(bench, f"lookups{count}"))
        )
        await bench.case("lookups", f"{count} lookups, nothing changed", [entry])
        await bench.remove(entry)


async def entries(bench: Bench, sizes: Sizes) -> None:
    """One poll round of 1, 10, 50 JSEcoin entries, all due together."""
    fleet = [
        await bench.add(jsecoin_entry(bench.sandbox, account(bench, f"fleet{n}")))
        for n in range(max(sizes.entries))
    ]
    for count in sizes.entries:
        await bench.case(
            "entries", f"{count} JSEcoin entries, one round", fleet[:count]
        )
    await bench.remove(*fleet)


async def histories(bench: Bench, sizes: Sizes, child: ChildSandbox) -> None:
    """JSEcoin refreshes at each history size: nothing changed, and one new entry."""
    for count in sizes.histories:
        name = f"history{count}"
        entry = await bench.add(jsecoin_entry(bench.sandbox, account(bench, name)))
        await bench.case("history", f"{count:,} entries, nothing changed", [entry])
        unchanged = bench.last_sent
        await bench.case(
            "history",
            f"{count:,} entries, one new entry",
            [entry],
            prepare=lambda name=name: bench.sandbox.mine(bench.session, name),
            in_order=True,
        )
        changed = bench.last_sent
        await bench.remove(entry)
        await isolated(
            bench, child, name=name, count=count, unchanged=unchanged, changed=changed
        )


@dataclass(slots=True)
class Isolated:
    """Stall and memory of refreshes against the sandbox in a child process."""

    name: str
    stalls_ms: list[float]  # the worst stall of each refresh
    floor_stalls_ms: list[float]
    peak_mib: float | None = None
    floor_peak_mib: float | None = None

    @property
    def stall_ms(self) -> float:
        """The median over the refreshes of each one's worst stall."""
        return statistics.median(self.stalls_ms)

    @property
    def floor_stall_ms(self) -> float:
        """The same for the floor."""
        return statistics.median(self.floor_stalls_ms)


async def isolated(
    bench: Bench,
    child: ChildSandbox,
    *,
    name: str,
    count: int,
    unchanged: list[RecordedRequest],
    changed: list[RecordedRequest],
) -> None:
    """Measure the worst stall and the peak memory of this process only.

    The floor sends the requests the same refresh sent to the in-process sandbox.
    """
    entry = await bench.add(jsecoin_entry(child, account(bench, name)))
    coordinator = coordinator_of(entry)

    async def refresh() -> None:
        await coordinator.async_refresh()
        if not coordinator.last_update_success:
            raise RuntimeError(f"{name}: a refresh failed")

    async def floor(sent: list[RecordedRequest]) -> None:
        await replay(bench.session, child.url, sent)

    async def stalls(
        sent: list[RecordedRequest], *, new_entry: bool
    ) -> tuple[list[float], list[float]]:
        """Worst stall of each of a few refreshes, and of each one's floor."""
        refreshes, floors = [], []
        for _ in range(min(bench.repeats, STALL_REPEATS)):
            if new_entry:
                await mine(bench.session, child.url, name)
            refreshes.append(_ms(await worst_stall(refresh)))
            floors.append(_ms(await worst_stall(lambda: floor(sent))))
        return refreshes, floors

    refreshes, floors = await stalls(unchanged, new_entry=False)
    bench.stalls.append(
        Isolated(f"{count:,} entries, nothing changed", refreshes, floors)
    )
    refreshes, floors = await stalls(changed, new_entry=True)
    result = Isolated(f"{count:,} entries, one new entry", refreshes, floors)
    await mine(bench.session, child.url, name)
    result.peak_mib = await peak_memory(refresh) / 2**20
    result.floor_peak_mib = await peak_memory(lambda: floor(changed)) / 2**20
    bench.stalls.append(result)
    await bench.remove(entry)
    print(f"  measured stall and memory: {count:,} entries", file=sys.stderr)


@dataclass(slots=True)
class Setup:
    """Setting an entry up until its entities have a state."""

    provider: str
    cpu_ms: float
    wall_ms: float
    entities: int
    cold: bool


async def setup_times(bench: Bench, sizes: Sizes) -> list[Setup]:
    """Time from adding an entry to its entities' first state, per provider.

    The first entry ever set up (JSEcoin) also imports the integration and its
    platforms: it is reported on its own as the cold start.
    """
    makers: list[tuple[str, Callable[[], ConfigEntry]]] = [
        ("jsecoin", lambda: jsecoin_entry(bench.sandbox, account(bench, "plain"))),
        ("coinetize", lambda: coinetize_entry(bench.sandbox)),
        ("coinsoftworks", lambda: coinsoftworks_entry(bench.sandbox)),
    ]
    results: list[Setup] = []
    cold = True
    for provider, make in makers:
        samples: list[Sample] = []
        for _ in range(sizes.setup_repeats + (1 if cold else 0)):
            entry = make()

            async def set_up(
                entry: ConfigEntry = entry, provider: str = provider
            ) -> None:
                await bench.hass.config_entries.async_add(entry)
                deadline = time.monotonic() + 10
                while not (ids := entity_ids(bench.hass, entry)) or any(
                    bench.hass.states.get(i) is None for i in ids
                ):
                    if time.monotonic() > deadline:
                        missing = [i for i in ids if bench.hass.states.get(i) is None]
                        raise RuntimeError(
                            f"{provider}: no state for {missing or 'any entity'}"
                        )
                    await asyncio.sleep(0.001)

            sample = await measure(set_up)
            count = len(entity_ids(bench.hass, entry))
            await bench.remove(entry)
            if cold:
                results.append(
                    Setup(provider, _ms(sample.cpu), _ms(sample.wall), count, True)
                )
                cold = False
                continue
            samples.append(sample)
        results.append(
            Setup(
                provider,
                _ms(statistics.median(s.cpu for s in samples)),
                _ms(statistics.median(s.wall for s in samples)),
                count,
                False,
            )
        )
    return results


@dataclass(slots=True)
class Day:
    """Requests per 15 minutes of one key over a simulated day of polling."""

    name: str
    provider: str
    interval_s: float
    polls: int
    requests: int
    worst_15_min: int
    mean_15_min: float
    limit_15_min: int
    share_of_limit: float


async def simulate(
    bench: Bench, name: str, entry: ConfigEntry, hours: float, mine: str | None
) -> Day:
    """Poll at the entry's default interval over ``hours`` of simulated time.

    The integration's wall clock is moved by one interval between refreshes, so its
    slower cadences (the block id, the history safety read) come due as they would.
    With ``mine``, the account earns a reward before every poll (a mining account).
    """
    coordinator = coordinator_of(entry)
    provider = entry.data["provider"]
    interval = coordinator.update_interval or timedelta(minutes=1)
    start = dt_util.utcnow()
    elapsed = timedelta()
    polls: list[tuple[float, int]] = []
    with integration_clock(lambda: start + elapsed):
        while elapsed.total_seconds() < hours * 3600:
            if mine is not None:
                await bench.sandbox.mine(bench.session, mine)
            before = bench.sandbox.count(provider)
            await coordinator.async_refresh()
            polls.append(
                (elapsed.total_seconds(), bench.sandbox.count(provider) - before)
            )
            elapsed += interval
    worst = 0
    for at, _n in polls:  # every 15-minute window that ends at a poll
        worst = max(worst, sum(n for t, n in polls if at - WINDOW_SECONDS < t <= at))
    total = sum(n for _t, n in polls)
    limit = LIMITS_PER_15_MIN[provider]
    return Day(
        name=name,
        provider=provider,
        interval_s=interval.total_seconds(),
        polls=len(polls),
        requests=total,
        worst_15_min=worst,
        mean_15_min=total / (hours * 3600 / WINDOW_SECONDS),
        limit_15_min=limit,
        share_of_limit=worst / limit,
    )


async def days(bench: Bench, sizes: Sizes) -> list[Day]:
    """A simulated day per provider at the default intervals; JSEcoin idle and mining."""
    results: list[Day] = []
    for count in sizes.day_lookups:
        name = f"lookups{count}" if count else "plain"
        for mining in (False, True):
            entry = await bench.add(jsecoin_entry(bench.sandbox, account(bench, name)))
            label = f"jsecoin, {count} lookups, {'mining' if mining else 'idle'}"
            results.append(
                await simulate(
                    bench, label, entry, sizes.day_hours, name if mining else None
                )
            )
            await bench.remove(entry)
    for label, make in (
        ("coinetize, 1 website", coinetize_entry),
        ("coinsoftworks", coinsoftworks_entry),
    ):
        entry = await bench.add(make(bench.sandbox))
        results.append(await simulate(bench, label, entry, sizes.day_hours, None))
        await bench.remove(entry)
    print("  measured the simulated day", file=sys.stderr, flush=True)
    return results


# Reporting


def table(rows: list[list[str]], header: list[str]) -> str:
    """Return a Markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _requests(case: Case) -> str:
    return ", ".join(f"{p} {n:g}" for p, n in sorted(case.requests.items()))


def _repeats(meta: dict[str, Any]) -> str:
    """Say how many times each refresh was measured."""
    repeats = f"{meta['repeats']} repeats"
    if meta["short_refresh_repeats"] == meta["repeats"]:
        return repeats
    return (
        f"{repeats} ({meta['short_refresh_repeats']} for a refresh under "
        f"{meta['short_refresh_ms']:.0f} ms)"
    )


def report(
    meta: dict[str, Any],
    cases: list[Case],
    stalls: list[Isolated],
    setups: list[Setup],
    day: list[Day],
) -> str:
    """Return every figure as Markdown tables."""
    out = [
        (
            f"CoinHub benchmark ({meta['mode']}): Home Assistant {meta['home_assistant']}, "
            f"Python {meta['python']}, {meta['cpus']} CPUs, {_repeats(meta)}, "
            f"medians; took {meta['seconds']:.0f} s"
        ),
        "",
        (
            "CPU and wall time per refresh (a round of every entry at once) next to the "
            "floor. Of the CPU, the part Home Assistant spends writing the states of the "
            "entities that changed and firing events (which any integration showing the "
            "same change pays) is shown apart, with the ratio left without it:"
        ),
        "",
        table(
            [
                [
                    c.group,
                    c.name,
                    _requests(c),
                    f"{c.cpu_ms:.2f}",
                    f"{c.floor_cpu_ms:.2f}",
                    f"{c.cpu_ratio:.2f}x",
                    f"{c.state_machine_ms:.2f}",
                    f"{c.own_cpu_ratio:.2f}x",
                    f"{c.wall_ms:.2f}",
                    f"{c.floor_wall_ms:.2f}",
                    f"{c.wall_ratio:.2f}x",
                ]
                for c in cases
            ],
            [
                "group",
                "case",
                "requests per refresh (per entry)",
                "CPU ms",
                "floor CPU ms",
                "CPU ratio",
                "of which state writes and events ms",
                "CPU ratio without them",
                "wall ms",
                "floor wall ms",
                "wall ratio",
            ],
        ),
        "",
        (
            "What those refreshes leave for later: the files CoinHub saves a few "
            "seconds after a refresh that changed something (a JSEcoin entry's file "
            "of its history marker and income), off the refresh and not in its CPU "
            "above. In real use polls are a minute or more apart, so each such poll "
            "writes them once; here they are written right after each refresh and "
            "measured apart (the cases that saved nothing are left out):"
        ),
        "",
        table(
            [
                [
                    c.group,
                    c.name,
                    f"{c.saves_files:g}",
                    f"{c.saves_cpu_ms:.2f}",
                    f"{c.cpu_ms:.2f}",
                    f"{c.floor_cpu_ms:.2f}",
                    f"{c.cpu_ratio:.2f}x",
                    f"{c.with_saves_ratio:.2f}x",
                ]
                for c in cases
                if c.saves_files
            ],
            [
                "group",
                "case",
                "files saved per refresh",
                "their CPU ms",
                "refresh CPU ms",
                "floor CPU ms",
                "CPU ratio",
                "CPU ratio with the saves",
            ],
        ),
        "",
        (
            "The same refreshes next to a floor inside Home Assistant: the same "
            "requests sent at once through Home Assistant's shared session by a bare "
            "coordinator per entry, decoded with json.loads. CoinHub's CPU is taken "
            "without its state writes and events, so what is left is CoinHub's own "
            "work:"
        ),
        "",
        table(
            [
                [
                    c.group,
                    c.name,
                    f"{c.cpu_ms - c.state_machine_ms:.2f}",
                    f"{c.ha_floor_cpu_ms:.2f}",
                    f"{c.ha_floor_ratio:.2f}x",
                ]
                for c in cases
            ],
            [
                "group",
                "case",
                "CPU ms without state writes and events",
                "Home Assistant floor CPU ms",
                "ratio",
            ],
        ),
        "",
        (
            "A poll that finds the balance moved asks for the history only then: its "
            "second request waits on the first one's answer, where the floor sends "
            "both at once. The same refreshes next to the floor sending its requests "
            "the same way, one after the other:"
        ),
        "",
        table(
            [
                [
                    c.group,
                    c.name,
                    f"{c.cpu_ms:.2f}",
                    f"{c.floor_cpu_ms:.2f}",
                    f"{c.cpu_ratio:.2f}x",
                    f"{c.floor_in_order_cpu_ms:.2f}",
                    f"{c.in_order_ratio:.2f}x",
                ]
                for c in cases
                if c.floor_in_order_cpu_ms is not None and c.in_order_ratio is not None
            ],
            [
                "group",
                "case",
                "CPU ms",
                "floor CPU ms (at once)",
                "ratio",
                "floor CPU ms (one after the other)",
                "ratio",
            ],
        ),
        "",
        (
            f"Worst event-loop stall (heartbeat every {HEARTBEAT_SECONDS * 1000:g} ms; "
            "the median over up to 3 refreshes of each one's worst, then the worst of "
            "all) and peak memory (tracemalloc: the peak of Python allocations above the "
            "start), this process only: here the sandbox runs in a child process:"
        ),
        "",
        table(
            [
                [
                    c.name,
                    f"{c.stall_ms:.1f} (worst {max(c.stalls_ms):.1f})",
                    f"{c.floor_stall_ms:.1f} (worst {max(c.floor_stalls_ms):.1f})",
                    "" if c.peak_mib is None else f"{c.peak_mib:.1f}",
                    "" if c.floor_peak_mib is None else f"{c.floor_peak_mib:.1f}",
                    ""
                    if c.peak_mib is None or not c.floor_peak_mib
                    else f"{c.peak_mib / c.floor_peak_mib:.2f}x",
                ]
                for c in stalls
            ],
            [
                "case",
                "stall ms",
                "floor stall ms",
                "peak MiB",
                "floor peak MiB",
                "ratio",
            ],
        ),
        "",
        "Setup to first state (adding the entry until every entity has a state):",
        "",
        table(
            [
                [
                    s.provider + (" (cold: imports the integration)" if s.cold else ""),
                    str(s.entities),
                    f"{s.cpu_ms:.1f}",
                    f"{s.wall_ms:.1f}",
                ]
                for s in setups
            ],
            ["provider", "entities", "CPU ms", "wall ms"],
        ),
        "",
        (
            f"Requests per 15 minutes per key over {meta['day_hours']:g} simulated "
            "hours at the default intervals (the worst sliding window), against the "
            "provider's limit:"
        ),
        "",
        table(
            [
                [
                    d.name,
                    f"{d.interval_s:g}",
                    str(d.polls),
                    str(d.requests),
                    str(d.worst_15_min),
                    f"{d.mean_15_min:.1f}",
                    str(d.limit_15_min),
                    f"{d.share_of_limit:.1%}",
                ]
                for d in day
            ],
            [
                "account",
                "interval s",
                "polls",
                "requests",
                "worst 15 min",
                "mean 15 min",
                "limit",
                "share",
            ],
        ),
    ]
    return "\n".join(out)


async def run(sizes: Sizes, mode: str, *, only_history: bool = False) -> dict[str, Any]:
    """Start everything, run every scenario (or only the history ones), return the figures."""
    started = time.perf_counter()
    setups: list[Setup] = []
    day: list[Day] = []
    seed = sandbox_seed(sizes)
    sandbox = Sandbox(seed)
    await sandbox.start()
    with tempfile.TemporaryDirectory(prefix="coinhub-bench-") as config_dir:
        hass = await start_home_assistant(Path(config_dir))
        async with aiohttp.ClientSession() as session:
            bench = Bench(hass, sandbox, session, sizes.repeats, sizes.short_repeats)
            try:
                if not only_history:
                    setups = await setup_times(bench, sizes)
                    print("  measured setup", file=sys.stderr, flush=True)
                    await providers(bench)
                    await lookups(bench, sizes)
                    await entries(bench, sizes)
                child = ChildSandbox(seed, Path(config_dir) / "sandbox-seed.json")
                await child.start()
                try:
                    await histories(bench, sizes, child)
                finally:
                    await child.close()
                if not only_history:
                    day = await days(bench, sizes)
            finally:
                await hass.async_stop(force=True)
                await sandbox.close()
    meta = {
        "mode": mode,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "home_assistant": ha_version,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "cpus": os.cpu_count(),
        "repeats": sizes.repeats,
        "short_refresh_repeats": sizes.short_repeats,
        "short_refresh_ms": SHORT_REFRESH_SECONDS * 1000,
        "day_hours": sizes.day_hours,
        "heartbeat_ms": HEARTBEAT_SECONDS * 1000,
        "memory": "tracemalloc peak above the start of the refresh, this process only",
        "seconds": time.perf_counter() - started,
    }
    return {
        "meta": meta,
        "cases": [asdict(c) for c in bench.cases],
        "stall_and_memory": [asdict(c) for c in bench.stalls],
        "setup": [asdict(s) for s in setups],
        "day": [asdict(d) for d in day],
        "table": report(meta, bench.cases, bench.stalls, setups, day),
    }


def main() -> None:
    """Parse the command line, run, print the tables and write the JSON."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench-results.json",
        help="where to write the figures (default: bench-results.json)",
    )
    parser.add_argument(
        "--history",
        type=int,
        metavar="SIZE",
        help="only the history cases, at this one size (same repeats; for profiling)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help=(
            "measure each refresh N times (default: 15, and 60 for a refresh under "
            "50 ms; 1 with --quick)"
        ),
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    if args.repeats is not None:
        sizes = replace(sizes, repeats=args.repeats, short_repeats=args.repeats)
    if args.history is not None:
        sizes = replace(sizes, histories=(args.history,))
        mode = f"{mode}, history {args.history:,} only"
    results = asyncio.run(run(sizes, mode, only_history=args.history is not None))
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(results["table"])
    print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
