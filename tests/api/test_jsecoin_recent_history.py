"""The recent part of a JSEcoin history: picked by timestamp and id, parsed on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import gc
import json
from pathlib import Path
import threading
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.coinhub.api import _http
from custom_components.coinhub.api._parse import (
    EARLIEST_MILLISECONDS,
    LATEST_MILLISECONDS,
)
from custom_components.coinhub.api.exceptions import CannotConnectError
from custom_components.coinhub.api.jsecoin import (
    History,
    HistoryEntry,
    HistoryRecord,
    JSEcoinClient,
    RecentHistory,
    RequestBudget,
    client as jsecoin_client,
)
from tests.conftest import Sandbox

WINDOW = timedelta(hours=1)
BASE_MS = 1_790_000_000_000
MINUTE_MS = 60_000
SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "jsecoin.json").read_text()
)
ALICE_KEY = next(a["api_key"] for a in SEED["accounts"] if a["name"] == "alice")


def at(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def mining(minutes: int, value: str = "0.00125") -> dict[str, Any]:
    """A mining entry ``minutes`` after the base time, its value as decoded (text)."""
    return {"command": "mining", "ts": BASE_MS + minutes * MINUTE_MS, "value": value}


def a_long_history(count: int) -> dict[str, Any]:
    """Entries a minute apart, in mapping order oldest first."""
    return {f"-E{minute:06d}": mining(minute) for minute in range(count)}


# Picking


def test_without_since_the_window_before_the_newest_is_picked() -> None:
    raw = a_long_history(500)
    recent = RecentHistory.from_api(raw, since=None, window=WINDOW)
    assert recent.size == 500
    assert recent.skipped == 0
    # Minutes 439 to 499: sixty minutes before the newest, both ends included.
    assert [r.id for r in recent.records] == [f"-E{m:06d}" for m in range(439, 500)]
    assert recent.records[-1].timestamp == at(BASE_MS + 499 * MINUTE_MS)


def test_since_picks_from_then_on_and_out_of_order_entries() -> None:
    raw = a_long_history(300)
    # Written last but older than the newest (inside the window): still picked.
    raw["-Late"] = mining(290)
    # Written last and older than since: not picked.
    raw["-Ancient"] = mining(10)
    since = at(BASE_MS + 280 * MINUTE_MS)
    recent = RecentHistory.from_api(raw, since=since, window=timedelta(minutes=5))
    ids = [r.id for r in recent.records]
    assert ids[0] == "-E000280"
    assert "-Late" in ids
    assert "-Ancient" not in ids
    # Oldest first by timestamp, then id: the late entry sits where it happened.
    assert ids[ids.index("-E000290") + 1] == "-Late"
    assert [(r.timestamp, r.id) for r in recent.records] == sorted(
        (r.timestamp, r.id) for r in recent.records
    )


def test_records_parse_to_the_same_entry_as_the_full_history() -> None:
    raw = {
        "-In": {
            "command": "transfer",
            "ts": BASE_MS,
            "value": "2.5",
            "reference": "ref",
            "user1": 7,
            "user2": 123,
            "user1email": "someone@example.com",
        },
        "-Mined": mining(1, "0.1"),
    }
    recent = RecentHistory.from_api(raw, since=None, window=WINDOW)
    full = History.from_api({"history": raw})
    assert [r.entry() for r in recent.records] == list(full.entries)
    assert HistoryRecord.of(full.entries[0]).entry() is full.entries[0]


def test_amounts_decoded_as_text_stay_exact() -> None:
    # More digits than a float holds: decoded as text, parsed to an exact Decimal.
    body = _http.decode_json_object(
        b'{"history": {"-X": {"command": "mining", "ts": 1790000000000,'
        b' "value": 0.12345678901234567891}}}',
        parse_float=str,
    )
    assert body is not None
    recent = RecentHistory.from_api(body["history"], since=None, window=WINDOW)
    assert recent.records[0].entry().value == Decimal("0.12345678901234567891")


def test_malformed_entries_are_skipped_and_counted() -> None:
    raw: dict[str, Any] = a_long_history(5)
    raw["-NotAnObject"] = ["mining"]
    raw["-NoTime"] = {"command": "mining", "value": "1"}
    raw["-BadTime"] = {"command": "mining", "ts": "soon", "value": "1"}
    raw["-Overflow"] = {"command": "mining", "ts": 10**30, "value": "1"}
    # Odd but readable: a time as text, from the signed data, or when received.
    raw["-TextTime"] = {"command": "mining", "ts": str(BASE_MS), "value": "1"}
    raw["-DataTime"] = {
        "data": json.dumps({"command": "mining", "value": 1, "ts": BASE_MS}),
    }
    raw["-Received"] = {"command": "mining", "received": BASE_MS, "value": "1"}
    recent = RecentHistory.from_api(raw, since=at(BASE_MS), window=WINDOW)
    assert recent.skipped == 4
    assert recent.size == len(raw)
    ids = {r.id for r in recent.records}
    assert {"-TextTime", "-DataTime", "-Received"} <= ids
    assert not ids & {"-NotAnObject", "-NoTime", "-BadTime", "-Overflow"}


def test_an_entry_with_a_time_but_a_bad_body_is_refused_when_parsed() -> None:
    raw = {"-Bad": {"command": "mining", "ts": BASE_MS, "value": "lots"}}
    (record,) = RecentHistory.from_api(raw, since=None, window=WINDOW).records
    with pytest.raises(CannotConnectError):
        record.entry()


def test_a_history_of_only_malformed_entries_is_empty() -> None:
    recent = RecentHistory.from_api({"-A": None}, since=None, window=WINDOW)
    assert recent == RecentHistory(records=(), size=1, skipped=1)


def test_null_history_is_empty_and_garbage_refused() -> None:
    assert RecentHistory.from_api(None, since=None, window=WINDOW) == RecentHistory(
        records=(), size=0, skipped=0
    )
    with pytest.raises(CannotConnectError):
        RecentHistory.from_api(["-A"], since=None, window=WINDOW)


def test_since_picks_nothing_older_even_within_the_window() -> None:
    raw = a_long_history(100)
    later = RecentHistory.from_api(
        raw, since=at(BASE_MS + 500 * MINUTE_MS), window=timedelta(minutes=10)
    )
    assert later.records == ()
    assert later.size == 100
    inside = RecentHistory.from_api(
        raw, since=at(BASE_MS + 95 * MINUTE_MS), window=timedelta(minutes=10)
    )
    assert [r.id for r in inside.records] == [f"-E{m:06d}" for m in range(95, 100)]


def test_known_ids_are_left_out_of_what_since_picks() -> None:
    raw = a_long_history(100)
    raw["-Late"] = mining(97)
    # An odd entry is read the long way and left out all the same when known.
    raw["-OddKnown"] = {"command": "mining", "ts": str(BASE_MS + 98 * MINUTE_MS)}
    raw["-OddNew"] = {"command": "mining", "ts": str(BASE_MS + 99 * MINUTE_MS)}
    known = {f"-E{m:06d}": 0 for m in range(90, 99)} | {"-OddKnown": 0}
    recent = RecentHistory.from_api(
        raw, since=at(BASE_MS + 90 * MINUTE_MS), window=WINDOW, known=known
    )
    assert [r.id for r in recent.records] == ["-Late", "-E000099", "-OddNew"]
    assert recent.size == 103
    # Without ``since`` the window is the baseline: nothing is left out of it.
    baseline = RecentHistory.from_api(
        raw, since=None, window=timedelta(minutes=2), known=known
    )
    assert [r.id for r in baseline.records] == [
        "-E000097",
        "-Late",
        "-E000098",
        "-OddKnown",
        "-E000099",
        "-OddNew",
    ]


# The garbage collector's pause


def test_collection_pause_nests_across_threads() -> None:
    assert gc.isenabled()
    inner_started, outer_may_end = threading.Event(), threading.Event()
    seen: list[bool] = []

    def inner() -> None:
        with _http.collection_paused():
            inner_started.set()
            outer_may_end.wait(5)
            seen.append(gc.isenabled())

    with _http.collection_paused():
        thread = threading.Thread(target=inner)
        thread.start()
        inner_started.wait(5)
    # The outer pause ended while the inner one still runs: still paused.
    seen.append(gc.isenabled())
    outer_may_end.set()
    thread.join(5)
    assert seen == [False, False]
    assert gc.isenabled()


def test_collection_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with _http.collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# Over HTTP


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncGenerator[JSEcoinClient]:
    async with ClientSession() as session:
        yield JSEcoinClient(
            session,
            ALICE_KEY,
            base_url=sandbox.base_url("jsecoin"),
            budget=RequestBudget(),
            request_timeout=5,
        )


async def test_recent_history_matches_the_full_history(client: JSEcoinClient) -> None:
    full = await client.history()
    recent = await client.recent_history(None, window=timedelta(days=36500))
    assert recent.size == len(full.entries)
    assert [r.entry() for r in recent.records] == list(full.entries)
    newest = full.entries[-1].timestamp
    only_newest = await client.recent_history(newest, window=timedelta(0))
    assert [r.id for r in only_newest.records] == [full.entries[-1].id]
    since = full.entries[0].timestamp
    known = {entry.id for entry in full.entries[:-1]}
    unknown = await client.recent_history(since, window=WINDOW, known=known)
    assert [r.id for r in unknown.records] == [full.entries[-1].id]


async def test_long_body_is_decoded_in_a_thread_with_the_collector_paused(
    client: JSEcoinClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await client.recent_history(None, window=WINDOW)
    monkeypatch.setattr(jsecoin_client, "THREAD_DECODE_BYTES", 10)
    threaded: list[str] = []
    collector_on_in_hook: list[bool] = []
    real_to_thread = asyncio.to_thread

    async def spy(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        threaded.append(func.__name__)
        return await real_to_thread(func, *args, **kwargs)

    def hook(value: dict[str, Any]) -> dict[str, Any]:
        collector_on_in_hook.append(gc.isenabled())
        return value

    monkeypatch.setattr(jsecoin_client.asyncio, "to_thread", spy)
    monkeypatch.setattr(jsecoin_client, "pass_through", hook)
    assert await client.recent_history(None, window=WINDOW) == expected
    assert threaded == ["_decode_long_and_pick"]
    # Every object went through the hook (the loop's way in), none with the collector.
    assert collector_on_in_hook
    assert not any(collector_on_in_hook)
    assert gc.isenabled()


async def test_recent_history_failures_are_the_clients(
    client: JSEcoinClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> RecentHistory:
        raise CannotConnectError("JSEcoin answered without a valid history")

    monkeypatch.setattr(RecentHistory, "from_api", refuse)
    with pytest.raises(CannotConnectError):
        await client.recent_history(None, window=WINDOW)


def test_history_entry_model_is_what_records_give() -> None:
    entry = HistoryEntry(
        id="-A",
        command="mining",
        value=Decimal(1),
        timestamp=at(BASE_MS),
        reference=None,
        counterparty_email=None,
        counterparty_public_key=None,
        user_id=None,
    )
    record = HistoryRecord.of(entry)
    assert (record.milliseconds, record.id) == (BASE_MS, "-A")
    assert record.timestamp == entry.timestamp
    assert record.entry() is entry


@pytest.mark.parametrize(
    ("milliseconds", "readable"),
    [
        (EARLIEST_MILLISECONDS - 1, False),
        (EARLIEST_MILLISECONDS, True),
        (LATEST_MILLISECONDS, True),
        (LATEST_MILLISECONDS + 1, False),
    ],
)
def test_a_time_a_datetime_cannot_hold_is_skipped(
    milliseconds: int, readable: bool
) -> None:
    raw = {"-Edge": {"command": "mining", "ts": milliseconds, "value": "1"}}
    recent = RecentHistory.from_api(raw, since=None, window=WINDOW)
    assert recent.skipped == (0 if readable else 1)
    if readable:
        (record,) = recent.records
        assert record.entry().timestamp == record.timestamp
