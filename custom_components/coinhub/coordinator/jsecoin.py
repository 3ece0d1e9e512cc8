"""The JSEcoin coordinator: balances, the chain's block and each new history entry."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain
import math
from operator import attrgetter, itemgetter
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..account_state import account_state
from ..api.exceptions import CannotConnectError
from ..api.jsecoin import (
    EARLIEST_MILLISECONDS,
    MAIN_BALANCE_LOOKUP,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW,
    UNIX_EPOCH,
    History,
    HistoryEntry,
    HistoryRecord,
    JSEcoinClient,
    from_unix_milliseconds,
    to_unix_milliseconds,
)
from ..clients import jsecoin_client
from ..const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_LOOKUPS,
    EVENT_TRANSACTION,
    LOGGER,
    Provider,
)
from ..income import IncomeFigures, IncomeTracker
from ..statistics import AccountStatistics
from ..stores import HISTORY_SECTION, account_file
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
# Balances (the main one and the lookups) are asked this many at a time: a burst the
# provider can take (its limit counts requests per 15 minutes), and chosen by
# measurement (scripts/bench, 100 lookups): the wall time was 1.30-1.34x the floor's at
# 10 at a time, 1.20x at 25 and no less at 50.
JSECOIN_LOOKUP_CONCURRENCY: Final = 25
# History entries are recognised by id within this window before the newest one seen,
# so an entry the provider writes a little out of timestamp order is still caught.
HISTORY_REORDER_WINDOW: Final = timedelta(hours=1)
_REORDER_WINDOW_MS: Final = HISTORY_REORDER_WINDOW // timedelta(milliseconds=1)
_MILLISECONDS: Final = attrgetter("milliseconds")
_TIME_THEN_ID: Final = itemgetter(1, 0)


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

    ``newest`` is the newest time seen (unix milliseconds); ``recent`` holds the time
    of every entry within :data:`HISTORY_REORDER_WINDOW` before it, by id. An entry is
    new when it is no older than that window and its id is not in ``recent``. Times are
    compared as the whole numbers the provider sends. ``recent`` is never changed in
    place: a poll hands it to a worker thread while reading a long history.
    """

    newest: int | None
    recent: Mapping[str, int]

    @classmethod
    def of(cls, records: Iterable[HistoryRecord]) -> HistoryMarker:
        """Return the marker of a history whose entries have all been announced."""
        return cls(newest=None, recent={}).advanced(records)

    @property
    def since(self) -> datetime:
        """Return the earliest time at which an entry may still be new."""
        if self.newest is None:
            return UNIX_EPOCH
        # Never before the earliest time a datetime holds (nor before any entry).
        since = max(self.newest - _REORDER_WINDOW_MS, EARLIEST_MILLISECONDS)
        return from_unix_milliseconds(since)

    def new_among(self, records: Sequence[HistoryRecord]) -> list[HistoryRecord]:
        """Return the records that have not been announced yet, oldest first.

        ``records`` are oldest first, so where the window starts is found by bisection.
        """
        if self.newest is None:
            return list(records)
        start = bisect_left(
            records, self.newest - _REORDER_WINDOW_MS, key=_MILLISECONDS
        )
        recent = self.recent
        return [record for record in records[start:] if record.id not in recent]

    def advanced(self, records: Iterable[HistoryRecord]) -> HistoryMarker:
        """Return the marker once ``records`` have been announced as well.

        What falls out of the window is dropped, so this costs what the window holds
        and what is added, never the whole history.
        """
        added = {record.id: record.milliseconds for record in records}
        if not added:
            return self
        newest = max(added.values())
        if self.newest is not None and self.newest > newest:
            newest = self.newest
        start = newest - _REORDER_WINDOW_MS
        recent = {
            entry_id: milliseconds
            for entry_id, milliseconds in chain(self.recent.items(), added.items())
            if milliseconds >= start
        }
        return HistoryMarker(newest=newest, recent=recent)

    def as_dict(self) -> dict[str, Any]:
        """Return the marker as stored.

        ``recent_ids`` keeps the form it had before the times were kept (oldest first
        now); ``recent_times`` are their times.
        """
        recent = sorted(self.recent.items(), key=_TIME_THEN_ID)
        return {
            "newest": None
            if self.newest is None
            else from_unix_milliseconds(self.newest).isoformat(),
            "recent_ids": [entry_id for entry_id, _ in recent],
            "recent_times": [milliseconds for _, milliseconds in recent],
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> HistoryMarker:
        """Read a stored marker.

        One stored before the times were kept counts every id at the newest time: it
        is kept one window longer than needed, and never announced again.
        """
        if (newest := stored.get("newest")) is None:
            return cls(newest=None, recent={})
        newest_ms = to_unix_milliseconds(datetime.fromisoformat(newest))
        ids = stored.get("recent_ids", ())
        times = stored.get("recent_times")
        if times is None or len(times) != len(ids):
            times = [newest_ms] * len(ids)
        return cls(newest=newest_ms, recent=dict(zip(ids, times, strict=True)))


def jsecoin_polling_interval(lookup_count: int) -> timedelta:
    """Return the interval at which every read of the polls fits the polling share.

    Counted at their worst: a poll reads the main balance, each lookup and the history
    (a mining account's balance moves all the time), and the block id is read once
    per :data:`JSECOIN_BLOCK_INTERVAL` (at most one per poll). The interval is the
    shortest whole number of seconds at which every window of the provider's limit
    holds no more polls than fit.
    """
    window = RATE_LIMIT_WINDOW
    share = RATE_LIMIT_REQUESTS * JSECOIN_POLLING_SHARE
    per_poll = 2 + lookup_count  # balance, lookups, history
    block_reads = math.ceil(window / JSECOIN_BLOCK_INTERVAL.total_seconds())
    # Polls per window, each with a block read while there are fewer polls than reads.
    polls = max(
        (
            n
            for n in range(1, math.floor(share) + 1)
            if _reads(n, per_poll, block_reads) <= share
        ),
        default=1,
    )
    return max(JSECOIN_MIN_INTERVAL, timedelta(seconds=math.ceil(window / polls)))


def _reads(polls: int, per_poll: int, block_reads: int) -> int:
    """Return the requests of ``polls`` polls in one window, block reads included."""
    return polls * per_poll + min(polls, block_reads)


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
        """Set up the client, the lookups and the entry's file."""
        super().__init__(hass, entry)
        self.client = jsecoin_client(hass, entry.data)
        self.lookups: tuple[str, ...] = tuple(entry.options.get(CONF_LOOKUPS, ()))
        self._file = account_file(hass, entry.entry_id)
        # How far the history was announced is the account's, not this load's: a poll
        # or transfer of the entry before a reload may still be announcing.
        self._account = account_state(hass, self.account_id)
        self._history_lock = self._account.history_lock
        self._history_read_at: datetime | None = None
        self._block_read_at: datetime | None = None
        self._transaction_listeners: list[Callable[[HistoryEntry], None]] = []
        # New history entries refused as malformed, since the entry was set up.
        self.history_entries_refused = 0
        self._history_skipped = 0  # entries the last history read left out
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
                if stored := await self._file.async_load(HISTORY_SECTION):
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
        block_id = None if previous is None else previous.block_id
        if _due(self._block_read_at, now, JSECOIN_BLOCK_INTERVAL):
            # Asked with the balances, so their round trips overlap.
            (balance, lookups), block_id = await asyncio.gather(
                self._async_read_balances(), self.client.current_block_id()
            )
            self._block_read_at = now
        else:
            balance, lookups = await self._async_read_balances()
        last_transaction = None if previous is None else previous.last_transaction
        if (
            previous is None
            or balance != previous.balance
            or _due(self._history_read_at, now, JSECOIN_HISTORY_SAFETY_INTERVAL)
        ):
            # Only after the balance: most polls find it unmoved and need no history.
            last_transaction = await self._async_read_history()
            self._history_read_at = now
        self.statistics.async_on_poll(balance)
        return JSEcoinData(
            balance=balance,
            lookups=lookups,
            block_id=block_id,
            last_transaction=last_transaction,
            income=self.income.async_observe(balance),
        )

    async def _async_read_balances(self) -> tuple[Decimal, dict[str, Decimal]]:
        """Read the main balance and every lookup's at once, a few at a time.

        Sent together, their round trips overlap, which costs less than one after the
        other. The first failure stops every read still going.
        """
        if not self.lookups:
            return (await self.client.balance()).balance, {}
        slots = asyncio.Semaphore(JSECOIN_LOOKUP_CONCURRENCY)

        async def read(lookup: str) -> Decimal:
            async with slots:
                return (await self.client.balance(lookup)).balance

        reads = [
            asyncio.ensure_future(read(lookup))
            for lookup in (MAIN_BALANCE_LOOKUP, *self.lookups)
        ]
        try:
            balance, *balances = await asyncio.gather(*reads)
        except BaseException:
            for pending in reads:
                pending.cancel()
            raise
        return balance, dict(zip(self.lookups, balances, strict=True))

    async def _async_read_history(self) -> HistoryEntry | None:
        """Read what is new in the history and announce it; return the last entry.

        Only the entries from the marker's window on that it does not hold are asked
        for: the rest was announced before (or is the baseline). The first read of a
        load takes those it holds too, to learn which entry is the last.
        """
        marker = self._account.history_marker
        last = None if self.data is None else self.data.last_transaction
        since = None if marker is None else marker.since
        known = marker.recent if marker is not None and self.data is not None else {}
        recent = await self.client.recent_history(
            since, window=HISTORY_REORDER_WINDOW, known=known
        )
        if recent.skipped != self._history_skipped:
            # Told when it changes, not on every read while a broken entry remains.
            self._history_skipped = recent.skipped
            LOGGER.warning(
                "%s: %d of %d history entries are malformed and were left out",
                self.name,
                recent.skipped,
                recent.size,
            )
        announced = await self._async_announce(recent.records)
        newest = _last_entry(recent.records, announced)
        # A late entry is new without being the last one.
        if newest is None or (last is not None and last.timestamp > newest.timestamp):
            return last
        return newest

    async def async_process_history(self, history: History) -> None:
        """Announce the entries of a freshly read history that are new.

        Called by actions that read the history themselves (after a transfer, or to
        reconcile a lost answer), so nothing is announced twice.
        """
        await self._async_announce([HistoryRecord.of(e) for e in history.entries])
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

    async def _async_announce(
        self, records: Sequence[HistoryRecord]
    ) -> dict[str, HistoryEntry]:
        """Fire an event per new entry, in order, then persist how far we got.

        ``records`` hold at least every entry from the marker's window on that it does
        not hold, oldest first. The first history ever read is the baseline: it is what
        the account already had, so it is recorded without an event flood. A new entry
        that cannot be parsed is refused (logged, never announced) without holding up
        the others. Returns the entries announced, by id.
        """
        announced: dict[str, HistoryEntry] = {}
        async with self._history_lock:
            marker = self._account.history_marker
            if marker is None:
                marker = HistoryMarker.of(records)
            else:
                new_records = marker.new_among(records)
                if not new_records:
                    return announced
                for record in new_records:
                    try:
                        entry = record.entry()
                    except CannotConnectError as err:
                        self.history_entries_refused += 1
                        LOGGER.warning("%s: history entry refused: %s", self.name, err)
                        continue
                    announced[entry.id] = entry
                    self.hass.bus.async_fire(
                        EVENT_TRANSACTION,
                        transaction_event_data(self.config_entry.entry_id, entry),
                    )
                    for listener in tuple(self._transaction_listeners):
                        listener(entry)
                marker = marker.advanced(new_records)
            self._account.history_marker = marker
            # Saved shortly, off the refresh; a stop writes it (see ``stores``), so a
            # restart neither repeats nor misses an entry.
            self._file.async_delay_save(HISTORY_SECTION, marker.as_dict)
        return announced


def _last_entry(
    records: Sequence[HistoryRecord], parsed: Mapping[str, HistoryEntry]
) -> HistoryEntry | None:
    """Return the newest entry that parses (``parsed`` holds some already parsed)."""
    for record in records[::-1]:
        if (entry := parsed.get(record.id)) is not None:
            return entry
        try:
            return record.entry()
        except CannotConnectError:
            continue
    return None


def _due(last: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Tell whether something last done at ``last`` is due again."""
    return last is None or now - last >= interval
