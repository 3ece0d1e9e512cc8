"""Bad answers at scale: a JSEcoin history of 100,000 entries, good and broken.

The history is served by the sandbox in place of Alice's own (a ``status`` fault with
a 200 body), after a reward moved her balance so the next poll reads it. Good entries
are announced once each, also when the same history is read again; broken entries
are refused one by one without taking the good ones, or the coordinator, down.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import logging
import math
import time
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.coinhub.const import EVENT_TRANSACTION
from sandbox.faults import FaultRule
from tests.components.conftest import setup_entry
from tests.conftest import Sandbox

from .conftest import (
    WATCHED,
    available,
    integration_lines,
    poll,
    provider_entry,
)

HISTORY_SIZE = 100_000
BROKEN_EVERY = 1_000  # one entry in this many is broken, in one of the ways below
BROKEN: tuple[dict[str, Any], ...] = (
    {"value": "0.1"},  # no command
    {"command": "mining"},  # no value
    {"command": "mining", "value": "lots"},  # not a number
    {"command": "mining", "value": [1]},  # a list
    {"command": 7, "value": "0.1"},  # a command that is not text
    {"command": "mining", "value": 1e400},  # beyond float range
    {"command": "mining", "value": "0.1", "ts": "yesterday"},  # not a time
)


def entry_json(entry_id: str, entry: dict[str, Any]) -> str:
    """Return ``"id": {...}`` as it stands inside the history object."""
    if entry.get("value") == 1e400:
        body = json.dumps({**entry, "value": 0}).replace('"value": 0', '"value": 1e400')
    else:
        body = json.dumps(entry)
    return f"{json.dumps(entry_id)}: {body}"


def good_entry(index: int, start_ms: int) -> dict[str, Any]:
    """Return a mining reward, one second after the previous one."""
    return {
        "command": "mining",
        "value": "0.001",
        "ts": start_ms + index * 1000,
        "user1": 123,
    }


def history_body(
    start_ms: int, *, broken: bool, duplicates: int
) -> tuple[str, set[str]]:
    """Return a history answer and the ids of its good entries.

    ``duplicates`` good ids appear twice in the object (as the same entry): JSON keeps
    one of them, and so must the announcements.
    """
    good_ids: set[str] = set()

    def members() -> Iterator[str]:
        for index in range(HISTORY_SIZE - duplicates):
            entry_id = f"-Nbad{index:08d}"
            if broken and index % BROKEN_EVERY == 0:
                kind = BROKEN[(index // BROKEN_EVERY) % len(BROKEN)]
                yield entry_json(entry_id, {"ts": start_ms + index * 1000, **kind})
                continue
            good_ids.add(entry_id)
            yield entry_json(entry_id, good_entry(index, start_ms))
        for index in range(duplicates):
            entry_id = f"-Nbad{index + 1:08d}"
            yield entry_json(entry_id, good_entry(index + 1, start_ms))

    body = '{"success": 1, "history": {' + ", ".join(members()) + "}}"
    return body, good_ids


async def serve_history(hass: HomeAssistant, sandbox: Sandbox, body: str) -> None:
    """Serve ``body`` as Alice's history, and move her balance so it is read."""
    # Straight into the injector: the body is larger than the admin API accepts.
    sandbox.context.faults.add(
        FaultRule(
            kind="status", provider="jsecoin", path="/history/", status=200, body=body
        )
    )
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})


async def announce_history(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    *,
    broken: bool,
) -> None:
    """Serve the big history twice; its good entries are announced once each."""
    caplog.set_level(logging.INFO)
    await setup_entry(hass, provider_entry(sandbox, "jsecoin"))
    events = async_capture_events(hass, EVENT_TRANSACTION)
    start_ms = int(time.time() * 1000) + 60_000
    body, good_ids = history_body(start_ms, broken=broken, duplicates=100)
    await serve_history(hass, sandbox, body)

    started = time.perf_counter()
    await poll(hass)
    elapsed = time.perf_counter() - started
    print(  # noqa: T201 - the figure the README quotes
        f"\n{HISTORY_SIZE} history entries ({len(body) / 2**20:.1f} MiB, "
        f"{HISTORY_SIZE - len(good_ids)} broken or duplicate) read and announced "
        f"in {elapsed:.2f} s: {len(events)} events"
    )
    assert available(hass, WATCHED["jsecoin"])
    announced = [event.data["id"] for event in events]
    assert len(announced) == len(set(announced))  # none twice
    assert set(announced) == good_ids  # none lost, none of the broken ones
    assert all(math.isfinite(event.data["value"]) for event in events)

    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    await poll(hass)
    assert len(events) == len(good_ids)  # read again, nothing new
    assert not [line for line in integration_lines(caplog) if "Traceback" in line]


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_large_history_with_duplicate_ids(
    hass: HomeAssistant, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """100,000 good entries, 100 ids sent twice: each announced exactly once."""
    await announce_history(hass, sandbox, caplog, broken=False)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_large_history_with_broken_entries(
    hass: HomeAssistant, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """One entry in a thousand broken: refused alone, the good ones announced once."""
    await announce_history(hass, sandbox, caplog, broken=True)
