"""Long-term statistics of a JSEcoin account, under ``coinhub:`` statistic ids.

Three hourly statistics per account (``<account>`` is the entry's unique id, e.g.
``jsecoin_123``):

* ``coinhub:<account>_balance`` — the main balance: mean, min and max of each hour;
* ``coinhub:<account>_transferred_in`` — JSE received by transfer, a running sum;
* ``coinhub:<account>_transferred_out`` — JSE sent by transfer, a running sum.

When an account has none of them yet (a new entry, or one set up before CoinHub kept
statistics), its whole history is read once and imported, so the statistics graph
shows the past weeks right after setup. The balance before the history's entries is
worked out backwards from today's balance; a provider that does not list mining in
the history makes that past balance an estimate, never the present one.

From then on the statistics only grow: each history entry the coordinator announces
(once) adds to its hour, and each poll's balance to the balance's hour; the hours in
between are filled, so every hour has its row. Nothing is kept on our side: after a
restart the last rows are read back from the recorder and continued, so no hour is
written twice over or skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util, slugify

from .api.exceptions import CoinHubError
from .api.jsecoin import HistoryEntry
from .api.jsecoin.models import COMMAND_TRANSFER
from .const import DOMAIN, LOGGER
from .income import balance_effect

if TYPE_CHECKING:
    from .coordinator.jsecoin import JSEcoinCoordinator

RECORDER: Final = "recorder"
HOUR: Final = timedelta(hours=1)
UNIT: Final = "JSE"

BALANCE: Final = "balance"
TRANSFERRED_IN: Final = "transferred_in"
TRANSFERRED_OUT: Final = "transferred_out"
SUMS: Final = (TRANSFERRED_IN, TRANSFERRED_OUT)
NAMES: Final = {
    BALANCE: "balance",
    TRANSFERRED_IN: "transferred in",
    TRANSFERRED_OUT: "transferred out",
}


def statistic_id(account_id: str, key: str) -> str:
    """Return the id of one of an account's statistics."""
    return f"{DOMAIN}:{slugify(account_id)}_{key}"


def hour_of(moment: datetime) -> datetime:
    """Return the start of the UTC hour holding ``moment``."""
    return dt_util.as_utc(moment).replace(minute=0, second=0, microsecond=0)


def _hours(first: datetime, last: datetime) -> Iterator[datetime]:
    """Yield the hour starts from ``first`` to ``last``, both included."""
    hour = first
    while hour <= last:
        yield hour
        hour += HOUR


def sum_key(entry: HistoryEntry) -> str | None:
    """Return the running sum a history entry adds to, if any."""
    if entry.command != COMMAND_TRANSFER:
        return None
    return TRANSFERRED_IN if entry.incoming else TRANSFERRED_OUT


@dataclass(slots=True)
class RunningSum:
    """The last written hour of a running sum and the sum at its end."""

    hour: datetime
    total: Decimal


@dataclass(slots=True)
class BalanceHour:
    """The balances seen during one hour: what its row holds."""

    hour: datetime
    low: Decimal
    high: Decimal
    mean: Decimal
    samples: int
    last: Decimal

    @classmethod
    def constant(cls, hour: datetime, balance: Decimal) -> BalanceHour:
        """Return an hour that held one balance throughout."""
        return cls(hour, balance, balance, balance, 1, balance)

    def add(self, balance: Decimal) -> None:
        """Count one more polled balance."""
        self.low = min(self.low, balance)
        self.high = max(self.high, balance)
        self.samples += 1
        self.mean += (balance - self.mean) / self.samples
        self.last = balance

    def row(self) -> StatisticData:
        """Return the hour's statistics row."""
        return StatisticData(
            start=self.hour,
            mean=float(self.mean),
            min=float(self.low),
            max=float(self.high),
        )


class AccountStatistics:
    """Import a JSEcoin account's history into long-term statistics, then keep them."""

    def __init__(self, coordinator: JSEcoinCoordinator) -> None:
        """Prepare the account's statistics; nothing is read yet."""
        self.coordinator = coordinator
        self.hass: HomeAssistant = coordinator.hass
        account = coordinator.account_id
        self.ids = {key: statistic_id(account, key) for key in NAMES}
        self._sums: dict[str, RunningSum] = {}
        self._balance: BalanceHour | None = None
        self._balance_unwritten = False
        self._needs_import = False
        self._started = False
        self._ready = False
        # Entries announced before the statistics were ready, in order.
        self._waiting: list[HistoryEntry] = []
        # Ids of the imported history: the polls may announce some of them again.
        self._imported: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        """Tell whether Home Assistant keeps statistics (the recorder is loaded)."""
        return RECORDER in self.hass.config.components

    async def async_load(self) -> None:
        """Read the last rows back, before the first poll announces anything."""
        if not self.enabled:
            return
        last = {key: await self._async_last_row(key) for key in NAMES}
        if not any(last.values()):
            self._needs_import = True
            return
        for key in SUMS:
            row = last[key]
            self._sums[key] = (
                RunningSum(
                    hour=dt_util.utc_from_timestamp(row["start"]),
                    total=Decimal(str(row.get("sum") or 0)),
                )
                if row
                else RunningSum(hour=hour_of(dt_util.utcnow()), total=Decimal(0))
            )
        if (row := last[BALANCE]) and {"mean", "min", "max"} <= row.keys():
            mean = Decimal(str(row["mean"]))
            # The recorder keeps no closing balance for a mean: the mean stands in
            # for the hours without a poll while Home Assistant was stopped.
            self._balance = BalanceHour(
                hour=dt_util.utc_from_timestamp(row["start"]),
                low=Decimal(str(row["min"])),
                high=Decimal(str(row["max"])),
                mean=mean,
                samples=1,
                last=mean,
            )
        self._ready = True

    async def async_start(self) -> None:
        """Import the history if needed, then follow the account.

        Called after the first poll, so the coordinator's baseline is already set:
        an entry newer than it is announced later and skipped if the import has it.
        """
        if not self.enabled:
            return
        self._started = True
        self.coordinator.config_entry.async_on_unload(self.async_flush)
        await self._async_import_if_needed()
        if self._ready:
            self.async_on_poll(self.coordinator.data.balance)

    async def _async_import_if_needed(self) -> None:
        """Import the whole history once; a failed read is tried again next poll."""
        if self._needs_import:
            self._needs_import = False  # one read at a time
            try:
                history = await self.coordinator.client.history()
            except CoinHubError as err:
                self._needs_import = True
                LOGGER.warning(
                    "Could not read the history of %s to import its statistics "
                    "(tried again at the next poll): %s",
                    self.coordinator.name,
                    type(err).__name__,
                )
                return
            self._import(history.entries, self.coordinator.data.balance)
            self._imported = frozenset(entry.id for entry in history.entries)
        self._ready = True
        for entry in self._waiting:
            self.async_on_entry(entry)
        self._waiting.clear()

    @callback
    def async_on_entry(self, entry: HistoryEntry) -> None:
        """Add a newly announced history entry to its hour's running sum."""
        if not self._ready:
            if self.enabled:
                self._waiting.append(entry)
            return
        if entry.id in self._imported or (key := sum_key(entry)) is None:
            return
        running = self._sums[key]
        hour = hour_of(entry.timestamp)
        rows = [
            StatisticData(
                start=gap, state=float(running.total), sum=float(running.total)
            )
            for gap in _hours(running.hour + HOUR, hour - HOUR)
        ]
        # An entry dated into an hour already closed (the provider's clock, or a late
        # listing) is added to the latest hour: the sums stay right and never rewind.
        running.hour = max(running.hour, hour)
        running.total += abs(entry.value)
        total = float(running.total)
        rows.append(StatisticData(start=running.hour, state=total, sum=total))
        self._add(key, rows)

    @callback
    def async_on_poll(self, balance: Decimal) -> None:
        """Record a polled balance in its hour and bring the sums up to this hour.

        Called by every poll, also one whose data did not change (its listeners are
        not called then), so an idle hour is still closed when the next begins.
        """
        if not self._started:
            return
        if not self._ready:
            if self._needs_import:
                self.coordinator.config_entry.async_create_background_task(
                    self.hass,
                    self._async_import_if_needed(),
                    name=f"{DOMAIN} statistics import {self.coordinator.name}",
                )
            return
        hour = hour_of(dt_util.utcnow())
        for key, running in self._sums.items():
            if hour > running.hour:
                total = float(running.total)
                self._add(
                    key,
                    [
                        StatisticData(start=gap, state=total, sum=total)
                        for gap in _hours(running.hour + HOUR, hour)
                    ],
                )
                running.hour = hour
        self._observe_balance(balance, hour)

    def _observe_balance(self, balance: Decimal, hour: datetime) -> None:
        """Count a polled balance in its hour's row.

        The row is written when the balance moved or a new hour began; an unchanged
        balance only updates the hour's mean, written with the next change or when
        the entry unloads, so an idle account does not write on every poll.
        """
        current = self._balance
        rows: list[StatisticData] = []
        if current is not None and current.hour < hour:
            if self._balance_unwritten:  # the closed hour's last samples
                rows.append(current.row())
            # Hours without a poll (Home Assistant was stopped) kept the last balance.
            rows.extend(
                BalanceHour.constant(gap, current.last).row()
                for gap in _hours(current.hour + HOUR, hour - HOUR)
            )
            current = None
        if current is None:
            current = BalanceHour.constant(hour, balance)
        else:
            moved = balance != current.last
            current.add(balance)
            if not moved:
                self._balance, self._balance_unwritten = current, True
                return
        self._balance, self._balance_unwritten = current, False
        rows.append(current.row())
        self._add(BALANCE, rows)

    @callback
    def async_flush(self) -> None:
        """Write the current hour's balance row if it changed since last written."""
        if self._balance is not None and self._balance_unwritten:
            self._balance_unwritten = False
            self._add(BALANCE, [self._balance.row()])

    def _import(self, entries: tuple[HistoryEntry, ...], balance: Decimal) -> None:
        """Write every hour from the history's first entry to this one."""
        now = dt_util.utcnow()
        hour = hour_of(now)
        first = min([hour_of(entry.timestamp) for entry in entries[:1]] + [hour])
        # The balance before the first entry, worked out backwards from today's.
        running = balance - sum(map(balance_effect, entries), Decimal(0))
        by_hour: dict[datetime, list[HistoryEntry]] = {}
        for entry in entries:
            by_hour.setdefault(min(hour_of(entry.timestamp), hour), []).append(entry)
        totals = dict.fromkeys(SUMS, Decimal(0))
        sum_rows: dict[str, list[StatisticData]] = {key: [] for key in SUMS}
        balance_rows: list[StatisticData] = []
        for start in _hours(first, hour):
            points = [(start, running)]
            for entry in by_hour.get(start, ()):
                running += balance_effect(entry)
                points.append((max(start, entry.timestamp), running))
                if (key := sum_key(entry)) is not None:
                    totals[key] += abs(entry.value)
            self._balance = _hour_of_points(start, min(start + HOUR, now), points)
            balance_rows.append(self._balance.row())
            for key in SUMS:
                total = float(totals[key])
                sum_rows[key].append(StatisticData(start=start, state=total, sum=total))
        self._sums = {key: RunningSum(hour, totals[key]) for key in SUMS}
        self._add(BALANCE, balance_rows)
        for key in SUMS:
            self._add(key, sum_rows[key])

    def _add(self, key: str, rows: list[StatisticData]) -> None:
        if not rows:
            return
        async_add_external_statistics(self.hass, self._metadata(key), rows)

    def _metadata(self, key: str) -> StatisticMetaData:
        is_sum = key in SUMS
        return StatisticMetaData(
            mean_type=StatisticMeanType.NONE
            if is_sum
            else StatisticMeanType.ARITHMETIC,
            has_sum=is_sum,
            name=f"{self.coordinator.config_entry.title} {NAMES[key]}",
            source=DOMAIN,
            statistic_id=self.ids[key],
            unit_class=None,
            unit_of_measurement=UNIT,
        )

    async def _async_last_row(self, key: str) -> dict[str, float] | None:
        statistic = self.ids[key]
        found = await get_instance(self.hass).async_add_executor_job(
            get_last_statistics,
            self.hass,
            1,
            statistic,
            False,
            {"sum", "mean", "min", "max"},
        )
        rows = found.get(statistic)
        if not rows:
            return None
        return {
            name: float(value)
            for name, value in rows[0].items()
            if isinstance(value, int | float)
        }


def _hour_of_points(
    start: datetime, end: datetime, points: list[tuple[datetime, Decimal]]
) -> BalanceHour:
    """Return an hour's low, high and time-weighted mean from its balance changes.

    ``points`` are the balance at ``start`` and after each change, in order.
    """
    values = [value for _moment, value in points]
    length = (end - start).total_seconds()
    if length <= 0:
        mean = values[-1]
    else:
        ends = [moment for moment, _value in points[1:]] + [end]
        weighted = sum(
            (
                value
                * Decimal(str(max(0.0, (min(until, end) - moment).total_seconds())))
                for (moment, value), until in zip(points, ends, strict=True)
            ),
            Decimal(0),
        )
        mean = weighted / Decimal(str(length))
    return BalanceHour(start, min(values), max(values), mean, len(points), values[-1])
