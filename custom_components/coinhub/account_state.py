"""What an account keeps across reloads of its entry: one per account and instance.

Everything an entry owns lives in its ``runtime_data`` and goes with it. A reload,
though, replaces the coordinator while work the old one started still runs: transfers
queued behind the account's lock, a poll announcing new history. The old and the new
coordinator must share a few things, or the reload lets transfers past the daily
limit, or announces a history entry twice:

* the lock that serialises the account's writes, and the ledger of what they sent;
* how far the account's history was announced, and the lock around announcing it;
* the executions still running, whose monitors the unload cancelled.

Like the request budgets and bearer caches (``clients.py``) these live in
``hass.data`` under a :class:`HassKey`: they outlive a reload of the entry but never
the Home Assistant instance. They are keyed by the account id (the entry's unique id,
never a secret). The coordinator and its transfer guard stay in ``runtime_data`` and
only borrow them; removing the entry forgets them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator.coinsoftworks import RunningExecution
    from .coordinator.jsecoin import HistoryMarker
    from .transfers import TransferLedger


@dataclass(slots=True)
class AccountState:
    """The shared part of one account's state; each provider uses its own fields."""

    # JSEcoin

    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Created by the first transfer guard, which knows the entry's storage.
    ledger: TransferLedger | None = None
    # History entries already matched to a send, so one entry never confirms two.
    claimed_history_ids: set[str] = field(default_factory=set)
    history_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    history_marker: HistoryMarker | None = None
    # Whether the marker was read from storage: only the first load of the entry does.
    history_loaded: bool = False
    # coinsoftworks: executions followed until they end, by id.
    running_executions: dict[str, RunningExecution] = field(default_factory=dict)
    # Whether they were read from storage: only the first load of the entry does.
    executions_loaded: bool = False


ACCOUNT_STATES: HassKey[dict[str, AccountState]] = HassKey(f"{DOMAIN}_account_states")


def account_state(hass: HomeAssistant, account_id: str) -> AccountState:
    """Return the shared state of an account, created on first use."""
    states = hass.data.setdefault(ACCOUNT_STATES, {})
    if (state := states.get(account_id)) is None:
        state = states[account_id] = AccountState()
    return state


def forget_account_state(hass: HomeAssistant, account_id: str) -> None:
    """Drop the shared state of an account whose entry was removed."""
    hass.data.get(ACCOUNT_STATES, {}).pop(account_id, None)
