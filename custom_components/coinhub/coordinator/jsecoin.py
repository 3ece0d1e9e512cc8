"""The JSEcoin coordinator: balances, the chain's block and each new history entry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..account_state import account_state
from ..api.jsecoin import (
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW,
    History,
    HistoryEntry,
    JSEcoinClient,
)
from ..clients import jsecoin_client
from ..const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_LOOKUPS,
    DOMAIN,
    EVENT_TRANSACTION,
    Provider,
)
from ..income import IncomeFigures, IncomeTracker
from ..statistics import AccountStatistics
from ..transfers import TransferGuard
from .base import CoinHubConfigEntry, CoinHubCoordinator

# JSEcoin allows RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW seconds per key, and that
# budget is shared with transfers, exports and whatever else uses the key. Polling keeps
# to a third of it, and never polls more often than once a minute.
JSECOIN_POLLING_SHARE: Final = 1 / 3
JSECOIN_MIN_INTERVAL: Final = timedelta(seconds=60)
# An unchanged account costs one request per poll: the main balance. The history is
# read only when that balance moved (every transaction moves it), plus a slow safety
# read that catches what netted out between two polls. The block id changes every
# ~30 s whatever the account does, so it is read on a slower cadence of its own rather
# than costing a request on every poll.
JSECOIN_HISTORY_SAFETY_INTERVAL: Final = timedelta(minutes=30)
JSECOIN_BLOCK_INTERVAL: Final = timedelta(minutes=5)
# History entries are recognised by id within this window before the newest one seen,
# so an entry the provider writes a little out of timestamp order is still caught.
HISTORY_REORDER_WINDOW: Final = timedelta(hours=1)
HISTORY_STORAGE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class JSEcoinData:
    """What a JSEcoin account shows: balances, the chain's block and its last move."""

    balance: Decimal
    lookups: dict[str, Decimal]
    block_id: int | None
    last_transaction: HistoryEntry | None
    income: IncomeFigures


@dataclass(frozen=True, slots=True)
class HistoryMarker:
    """How far the account's history has been announced, persisted across restarts.

    ``newest`` is the newest timestamp seen; ``recent_ids`` are the ids of every entry
    within :data:`HISTORY_REORDER_WINDOW` before it. An entry is new when it is newer
    than ``newest``, or inside the window and not among ``recent_ids``.
    """

    newest: datetime | None
    recent_ids: frozenset[str]

    @classmethod
    def of(cls, entries: Iterable[HistoryEntry]) -> HistoryMarker:
        """Return the marker of a history whose entries have all been announced."""
        entries = tuple(entries)
        if not entries:
            return cls(newest=None, recent_ids=frozenset())
        newest = max(entry.timestamp for entry in entries)
        since = newest - HISTORY_REORDER_WINDOW
        return cls(
            newest=newest,
            recent_ids=frozenset(e.id for e in entries if e.timestamp >= since),
        )

    def is_new(self, entry: HistoryEntry) -> bool:
        """Tell whether ``entry`` has not been announced yet."""
        if self.newest is None or entry.timestamp > self.newest:
            return True
        return (
            entry.timestamp >= self.newest - HISTORY_REORDER_WINDOW
            and entry.id not in self.recent_ids
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the marker as stored."""
        return {
            "newest": None if self.newest is None else self.newest.isoformat(),
            "recent_ids": sorted(self.recent_ids),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> HistoryMarker:
        """Read a stored marker."""
        newest = stored.get("newest")
        return cls(
            newest=None if newest is None else datetime.fromisoformat(newest),
            recent_ids=frozenset(stored.get("recent_ids", ())),
        )


def jsecoin_polling_interval(lookup_count: int) -> timedelta:
    """Return the interval at which a poll of the main balance and lookups fits the share."""
    seconds_per_request = RATE_LIMIT_WINDOW / (
        RATE_LIMIT_REQUESTS * JSECOIN_POLLING_SHARE
    )
    return max(
        JSECOIN_MIN_INTERVAL,
        timedelta(seconds=(1 + lookup_count) * seconds_per_request),
    )


def transaction_event_data(entry_id: str, entry: HistoryEntry) -> dict[str, Any]:
    """Return the ``coinhub_transaction`` data of a history entry.

    The counterparty's e-mail address and public key stay out: events are recorded.
    """
    return {
        ATTR_CONFIG_ENTRY_ID: entry_id,
        "id": entry.id,
        "command": entry.command,
        "value": float(entry.value),
        "reference": entry.reference,
        "timestamp": entry.timestamp.isoformat(),
    }


class JSEcoinCoordinator(CoinHubCoordinator[JSEcoinData]):
    """Poll a JSEcoin account and announce each new history entry exactly once."""

    provider = Provider.JSECOIN
    client: JSEcoinClient

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up the client, the lookups and the history store."""
        super().__init__(hass, entry)
        self.client = jsecoin_client(hass, entry.data)
        self.lookups: tuple[str, ...] = tuple(entry.options.get(CONF_LOOKUPS, ()))
        self._history_store = history_store(hass, entry.entry_id)
        # How far the history was announced is the account's, not this load's: a poll
        # or transfer of the entry before a reload may still be announcing.
        self._account = account_state(hass, self.account_id)
        self._history_lock = self._account.history_lock
        self._history_read_at: datetime | None = None
        self._block_read_at: datetime | None = None
        self._transaction_listeners: list[Callable[[HistoryEntry], None]] = []
        # Income and long-term statistics follow each new entry and the balance.
        self.income = IncomeTracker(hass, entry.entry_id)
        self.statistics = AccountStatistics(self)
        self.async_add_transaction_listener(self.income.async_on_entry)
        self.async_add_transaction_listener(self.statistics.async_on_entry)
        # Value-moving actions of this account: limits, ledger and one write at a time.
        self.transfers = TransferGuard(self)

    @classmethod
    @override
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Poll as often as the main balance and each lookup fit the key's share."""
        return jsecoin_polling_interval(len(entry.options.get(CONF_LOOKUPS, ())))

    @override
    async def _async_setup(self) -> None:
        """Load how far the history has been announced, unless a load before did."""
        await super()._async_setup()
        async with self._history_lock:
            if not self._account.history_loaded:
                if stored := await self._history_store.async_load():
                    self._account.history_marker = HistoryMarker.from_dict(stored)
                self._account.history_loaded = True
        await self.income.async_load()
        await self.statistics.async_load()

    @override
    async def async_config_entry_first_refresh(self) -> None:
        """Refresh, then import the history into statistics if they have none yet.

        After the first refresh, so the history's baseline is set: nothing can fall
        between the import and the entries announced later.
        """
        await super().async_config_entry_first_refresh()
        await self.statistics.async_start()

    @override
    async def _async_poll(self) -> JSEcoinData:
        now = dt_util.utcnow()
        previous = self.data
        balance = (await self.client.balance()).balance
        lookups = {
            lookup: (await self.client.balance(lookup)).balance
            for lookup in self.lookups
        }
        last_transaction = None if previous is None else previous.last_transaction
        if (
            previous is None
            or balance != previous.balance
            or _due(self._history_read_at, now, JSECOIN_HISTORY_SAFETY_INTERVAL)
        ):
            history = await self.client.history()
            self._history_read_at = now
            await self._async_announce(history)
            last_transaction = history.entries[-1] if history.entries else None
        block_id = None if previous is None else previous.block_id
        if _due(self._block_read_at, now, JSECOIN_BLOCK_INTERVAL):
            block_id = await self.client.current_block_id()
            self._block_read_at = now
        return JSEcoinData(
            balance=balance,
            lookups=lookups,
            block_id=block_id,
            last_transaction=last_transaction,
            income=await self.income.async_observe(balance),
        )

    async def async_process_history(self, history: History) -> None:
        """Announce the entries of a freshly read history that are new.

        Called by the polls and by actions that read the history themselves (after a
        transfer, or to reconcile a lost answer), so nothing is announced twice.
        """
        await self._async_announce(history)
        if self.data is not None and history.entries:
            last = history.entries[-1]
            if last != self.data.last_transaction:
                self.async_publish(replace(self.data, last_transaction=last))

    @callback
    def async_add_transaction_listener(
        self, listener: Callable[[HistoryEntry], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` with every new history entry; return how to stop."""
        self._transaction_listeners.append(listener)
        return lambda: self._transaction_listeners.remove(listener)

    async def _async_announce(self, history: History) -> None:
        """Fire an event per new entry, in order, then persist how far we got.

        The first history ever read is the baseline: it is what the account already
        had, so it is recorded without an event flood.
        """
        async with self._history_lock:
            marker = self._account.history_marker
            if marker is not None:
                new_entries = [e for e in history.entries if marker.is_new(e)]
                if not new_entries:
                    return
                for entry in new_entries:
                    self.hass.bus.async_fire(
                        EVENT_TRANSACTION,
                        transaction_event_data(self.config_entry.entry_id, entry),
                    )
                    for listener in tuple(self._transaction_listeners):
                        listener(entry)
            marker = self._account.history_marker = HistoryMarker.of(history.entries)
            # Saved right away: a restart must neither repeat nor miss an entry.
            await self._history_store.async_save(marker.as_dict())


def history_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of how far an entry's JSEcoin history has been announced."""
    return Store(hass, HISTORY_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.history")


def _due(last: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Tell whether something last done at ``last`` is due again."""
    return last is None or now - last >= interval
