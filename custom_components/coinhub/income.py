"""JSEcoin income: what the main balance gained that the history does not explain.

Mining rewards are paid into blocks; whether the provider also lists them in the
account's history is not documented. So income is never read from mining entries:
over any period it is the balance's change minus the net value of the period's
transfers, imports and exports (the entries that move value in or out on purpose).
A mining entry, when the provider lists one, is ignored here, so it is not counted
twice.

The tracker is fed two things by the coordinator: every new history entry (once, as
the coordinator announces it) and the balance of every poll. It only settles when the
balance moved, so an entry announced before the balance shows it (a transfer made
through CoinHub reads the history at once; the balance is read at the next poll)
waits for the balance instead of looking like income. A drop the history does not
explain yet is held back against later gains rather than counted as negative income:
an entry the provider lists one poll late then cancels it out.

Everything is persisted in the entry's file (``stores.AccountFile``), so a restart in
the middle of a day neither loses nor repeats the day's income.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .api.jsecoin import HistoryEntry
from .api.jsecoin.models import COMMAND_EXPORT, COMMAND_IMPORT, COMMAND_TRANSFER
from .const import ATTR_CONFIG_ENTRY_ID, EVENT_INCOME
from .stores import INCOME_SECTION, account_file

# The entries that explain a balance change; anything else (mining) is income.
EXPLAINING_COMMANDS: Final = frozenset(
    {COMMAND_TRANSFER, COMMAND_IMPORT, COMMAND_EXPORT}
)
# "Last 7 days" is today and the six calendar days before it: whole local days, so
# the figure changes when income arrives and at midnight, never in between.
INCOME_WINDOW_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class IncomeFigures:
    """The account's income, as the sensors show it."""

    today: Decimal
    """Income since local midnight."""
    last_reset: datetime
    """Local midnight that started ``today``."""
    last_days: Decimal
    """Income of today and the days before it, :data:`INCOME_WINDOW_DAYS` in all."""


class IncomeTracker:
    """Follow one JSEcoin account's income; fire ``coinhub_income`` when it grows."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Keep the account's income in the income section of the entry's file."""
        self.hass = hass
        self.entry_id = entry_id
        self._file = account_file(hass, entry_id)
        self._balance: Decimal | None = None
        # Net of the explaining entries announced since the balance was last settled.
        self._explained = Decimal(0)
        # A drop no entry explained (yet): negative or zero.
        self._held_back = Decimal(0)
        self._days: dict[date, Decimal] = {}
        # The figures last returned: the same until income arrives or the day changes.
        self._figures: IncomeFigures | None = None

    async def async_load(self) -> None:
        """Read what the last run knew."""
        if (stored := await self._file.async_load(INCOME_SECTION)) is not None:
            self._restore(stored)

    @callback
    def async_on_entry(self, entry: HistoryEntry) -> None:
        """Count a new history entry against the next balance change."""
        if entry.command in EXPLAINING_COMMANDS:
            self._explained += balance_effect(entry)
            # Saved even outside a poll (a lost transfer answer settled from the
            # history): the entry must still explain the balance after a restart.
            self._async_save()

    @callback
    def async_observe(self, balance: Decimal) -> IncomeFigures:
        """Settle a polled balance and return the income figures."""
        today = dt_util.now().date()
        if self._balance is None:
            # The first balance ever seen is the starting point: what came before it
            # cannot be told apart from income.
            self._balance = balance
            self._async_save()
        elif balance != self._balance:
            unexplained = balance - self._balance - self._explained + self._held_back
            self._balance, self._explained = balance, Decimal(0)
            if unexplained > 0:
                self._held_back = Decimal(0)
                self._days[today] = self._days.get(today, Decimal(0)) + unexplained
                self._figures = None
                self._fire(unexplained, self._days[today])
            else:
                self._held_back = unexplained
            self._async_save()
        if self._figures is None or self._figures.last_reset.date() != today:
            self._figures = self.figures(today)
        return self._figures

    def figures(self, today: date) -> IncomeFigures:
        """Return the income of ``today`` and of the window ending with it."""
        first = today - timedelta(days=INCOME_WINDOW_DAYS - 1)
        self._days = {day: value for day, value in self._days.items() if day >= first}
        return IncomeFigures(
            today=self._days.get(today, Decimal(0)),
            last_reset=dt_util.start_of_local_day(today),
            last_days=sum(self._days.values(), Decimal(0)),
        )

    def _fire(self, value: Decimal, today: Decimal) -> None:
        """Announce new income once: the single source of the ``income`` trigger."""
        self.hass.bus.async_fire(
            EVENT_INCOME,
            {
                ATTR_CONFIG_ENTRY_ID: self.entry_id,
                "value": float(value),
                "today": float(today),
            },
        )

    @callback
    def _async_save(self) -> None:
        """Save shortly, off the poll; a stop writes it (see ``stores``)."""
        self._file.async_delay_save(INCOME_SECTION, self._as_dict)

    def _as_dict(self) -> dict[str, Any]:
        return {
            "balance": None if self._balance is None else str(self._balance),
            "explained": str(self._explained),
            "held_back": str(self._held_back),
            "days": {day.isoformat(): str(value) for day, value in self._days.items()},
        }

    def _restore(self, stored: Mapping[str, Any]) -> None:
        self._figures = None
        balance = stored.get("balance")
        self._balance = None if balance is None else Decimal(balance)
        self._explained = Decimal(stored.get("explained", "0"))
        self._held_back = Decimal(stored.get("held_back", "0"))
        self._days = {
            date.fromisoformat(day): Decimal(value)
            for day, value in dict(stored.get("days", {})).items()
        }


def balance_effect(entry: HistoryEntry) -> Decimal:
    """Return how a history entry moved the balance.

    A transfer's value is signed (the sender's entry is negative). Whether an export
    is listed negative is not documented, so its sign is not trusted: an export
    always takes value out, an import always brings it in.
    """
    if entry.command == COMMAND_EXPORT:
        return -abs(entry.value)
    if entry.command == COMMAND_IMPORT:
        return abs(entry.value)
    return entry.value
