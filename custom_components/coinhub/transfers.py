"""Value-moving JSEcoin actions: opt-in, limits, a persisted ledger and at-most-once sends.

A transfer or an export moves value out of the account, so it passes a guard first:

* the entry's ``allow_transfers`` option must be on, the amount within
  ``max_transfer_amount``, and what was sent in the last 24 hours plus the amount within
  ``daily_transfer_limit``;
* the amount is written into a ledger persisted per entry (``helpers.storage.Store``)
  *before* the request goes out, and taken back only when the outcome proves nothing
  moved — so a restart, a crash or a lost answer never lets more through than allowed;
* the request is sent once; writes of one account are serialised by one lock;
* when the answer is lost the account history decides: the value moved (confirmed from
  history), it did not (after a short re-check), or — only when the history cannot be
  read — the outcome stays unknown and the user is told to check before retrying.

A coin code import brings value in: it needs no opt-in and no limit, but it shares the
account's lock, and a lost answer is settled from the history the same way — the
history's ``import`` entries name their coin code, compared in memory as a digest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TypedDict
from uuid import uuid4

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .account_state import account_state
from .api.exceptions import CoinHubError, OutcomeUnknownError
from .api.jsecoin import ExportResult, HistoryEntry, format_amount, validate_transfer
from .api.jsecoin.models import COMMAND_EXPORT, COMMAND_TRANSFER
from .const import (
    CONF_ALLOW_TRANSFERS,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_MAX_TRANSFER_AMOUNT,
    DEFAULT_ALLOW_TRANSFERS,
    DEFAULT_DAILY_TRANSFER_LIMIT,
    DEFAULT_MAX_TRANSFER_AMOUNT,
    DOMAIN,
    LOGGER,
)

if TYPE_CHECKING:
    from .coordinator.jsecoin import JSEcoinCoordinator

STORAGE_VERSION: Final = 1
LEDGER_WINDOW: Final = timedelta(hours=24)
# How long to wait before reading the history a second time when the first read did
# not show a send whose answer was lost.
RECHECK_DELAY: Final = 3.0
# History timestamps come from the provider's clock: allow it to run this much behind.
CLOCK_TOLERANCE: Final = timedelta(seconds=10)

CONFIRMED_FROM_HISTORY: Final = (
    "The provider's answer was lost; the account history confirms it was sent."
)

# How a lost answer was settled, for the log.
RECONCILED: Final[dict[bool | None, str]] = {
    True: "the account history shows it was made",
    False: "the account history shows it was not made",
    None: "the account history could not be read, so the outcome is unknown",
}


class Movement(StrEnum):
    """The value-moving actions; each names its own translation keys."""

    TRANSFER = COMMAND_TRANSFER
    EXPORT = COMMAND_EXPORT


@dataclass(frozen=True, slots=True)
class Imported:
    """What a coin code import credited, and whether the history had to tell."""

    value: Decimal
    confirmed_from_history: bool


class LedgerRecord(TypedDict):
    """One amount that was sent, or may have been sent."""

    id: str
    at: str  # ISO 8601, UTC
    amount: str


class LedgerData(TypedDict):
    """What the ledger keeps in storage."""

    records: list[LedgerRecord]


def ledger_storage_key(entry_id: str) -> str:
    """Return the storage key of a config entry's transfer ledger."""
    return f"{DOMAIN}.{entry_id}.transfers"


async def async_remove_ledger(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the ledger of a config entry that was removed."""
    await Store[LedgerData](
        hass, STORAGE_VERSION, ledger_storage_key(entry_id)
    ).async_remove()


def _text(amount: Decimal) -> str:
    """Return an amount for a message: no exponent, no trailing zeros."""
    return f"{amount.normalize():f}"


@dataclass(frozen=True, slots=True)
class TransferLimits:
    """What the entry's options allow a value-moving action to do."""

    allowed: bool
    max_amount: Decimal
    daily_limit: Decimal

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TransferLimits:
        """Read the limits from a JSEcoin entry's options, with their defaults."""
        return cls(
            allowed=bool(options.get(CONF_ALLOW_TRANSFERS, DEFAULT_ALLOW_TRANSFERS)),
            max_amount=Decimal(
                str(options.get(CONF_MAX_TRANSFER_AMOUNT, DEFAULT_MAX_TRANSFER_AMOUNT))
            ),
            daily_limit=Decimal(
                str(
                    options.get(CONF_DAILY_TRANSFER_LIMIT, DEFAULT_DAILY_TRANSFER_LIMIT)
                )
            ),
        )

    def check_single(self, amount: Decimal) -> None:
        """Raise a translated refusal unless one action may move ``amount``."""
        if not self.allowed:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="transfers_not_allowed"
            )
        if amount > self.max_amount:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="amount_above_maximum",
                translation_placeholders={
                    "amount": _text(amount),
                    "maximum": _text(self.max_amount),
                },
            )

    def check_daily(self, amount: Decimal, sent_in_window: Decimal) -> None:
        """Raise a translated refusal if ``amount`` would pass the daily limit."""
        if sent_in_window + amount > self.daily_limit:
            remaining = max(self.daily_limit - sent_in_window, Decimal(0))
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="daily_limit_reached",
                translation_placeholders={
                    "amount": _text(amount),
                    "daily_limit": _text(self.daily_limit),
                    "remaining": _text(remaining),
                },
            )


class TransferLedger:
    """The amounts value-moving actions sent (or may have sent), kept across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Keep the ledger of one config entry in its own storage file."""
        self._store: Store[LedgerData] = Store(
            hass, STORAGE_VERSION, ledger_storage_key(entry_id)
        )
        self._records: list[LedgerRecord] | None = None

    async def async_sent_since(self, start: datetime) -> Decimal:
        """Return the sum of the amounts recorded at or after ``start``."""
        records = await self._async_records()
        return sum(
            (
                Decimal(record["amount"])
                for record in records
                if datetime.fromisoformat(record["at"]) >= start
            ),
            Decimal(0),
        )

    async def async_record(self, amount: Decimal, at: datetime) -> str:
        """Write ``amount`` down and persist it; return the record's id."""
        records = await self._async_records()
        record_id = uuid4().hex
        records.append(
            LedgerRecord(id=record_id, at=at.isoformat(), amount=_text(amount))
        )
        await self._async_save(at)
        return record_id

    async def async_cancel(self, record_id: str) -> None:
        """Take a record back: its amount proved not to have moved."""
        records = await self._async_records()
        records[:] = [record for record in records if record["id"] != record_id]
        await self._async_save(dt_util.utcnow())

    async def _async_records(self) -> list[LedgerRecord]:
        if self._records is None:
            stored = await self._store.async_load()
            self._records = list(stored["records"]) if stored else []
        return self._records

    async def _async_save(self, now: datetime) -> None:
        records = await self._async_records()
        start = now - LEDGER_WINDOW
        records[:] = [
            record
            for record in records
            if datetime.fromisoformat(record["at"]) >= start
        ]
        await self._store.async_save(LedgerData(records=list(records)))


class TransferGuard:
    """Serialises one account's writes and applies the value-moving rules to them.

    Owned by the account's coordinator. Its lock and ledger are the account's
    (:mod:`.account_state`): calls still queued on the guard of an entry that reloaded
    wait on the same lock and count against the same ledger as calls on the new one.
    """

    def __init__(self, coordinator: JSEcoinCoordinator) -> None:
        """Create the guard of one JSEcoin account."""
        shared = account_state(coordinator.hass, coordinator.account_id)
        if shared.ledger is None:
            shared.ledger = TransferLedger(
                coordinator.hass, coordinator.config_entry.entry_id
            )
        self.lock = shared.write_lock
        self._coordinator = coordinator
        self._ledger = shared.ledger
        self._claimed_history_ids = shared.claimed_history_ids

    async def async_transfer(
        self,
        recipient: str,
        amount: Decimal,
        reference: str,
    ) -> str:
        """Send ``amount`` JSE to ``recipient`` at most once; return the notification."""
        coordinator = self._coordinator
        validate_transfer(recipient, amount, reference)

        def is_this_transfer(entry: HistoryEntry) -> bool:
            return (
                entry.command == COMMAND_TRANSFER
                and entry.value == -amount
                and entry.reference == reference
                and _same_counterparty(entry, recipient)
            )

        result = await self._async_move(
            Movement.TRANSFER,
            amount,
            lambda: coordinator.client.transfer(recipient, amount, reference),
            is_this_transfer,
        )
        return CONFIRMED_FROM_HISTORY if result is None else result.notification

    async def async_export(self, amount: Decimal) -> ExportResult:
        """Turn ``amount`` JSE into a coin code at most once.

        Returns the provider's answer, whose coin code only the caller may see. When
        the answer was lost the code cannot be recovered: a translated error says
        whether the value left the balance.
        """
        coordinator = self._coordinator
        format_amount(amount)

        def is_this_export(entry: HistoryEntry) -> bool:
            return entry.command == COMMAND_EXPORT and abs(entry.value) == amount

        result = await self._async_move(
            Movement.EXPORT,
            amount,
            lambda: coordinator.client.export_coins(amount),
            is_this_export,
        )
        if result is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="export_code_lost",
                translation_placeholders={"amount": _text(amount)},
            )
        return result

    async def async_import(self, coin_code: str) -> Imported:
        """Credit a coin code's value at most once; settle a lost answer from history.

        The code is compared with the history's import entries in memory (as a
        digest) and is neither kept nor logged.
        """
        coordinator = self._coordinator
        async with self.lock:
            started = dt_util.utcnow()
            try:
                result = await coordinator.client.import_coins(coin_code)
            except OutcomeUnknownError:
                found: list[HistoryEntry] = []

                def is_this_import(entry: HistoryEntry) -> bool:
                    matched = entry.imports_coin_code(coin_code)
                    if matched:
                        found.append(entry)
                    return matched

                confirmed = await self._async_reconcile(started, is_this_import)
                LOGGER.warning(
                    "The answer to a JSEcoin import was lost; %s", RECONCILED[confirmed]
                )
                if not confirmed:
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="import_outcome_unknown"
                        if confirmed is None
                        else "import_not_made",
                    ) from None
                imported = Imported(found[0].value, confirmed_from_history=True)
            else:
                imported = Imported(result.value, confirmed_from_history=False)
        await coordinator.async_request_refresh()
        return imported

    async def _async_move[T](
        self,
        movement: Movement,
        amount: Decimal,
        send: Callable[[], Awaitable[T]],
        matches: Callable[[HistoryEntry], bool],
    ) -> T | None:
        """Check the limits, record the amount, send once and settle the outcome.

        Returns the provider's answer, or ``None`` when the answer was lost and the
        history confirmed the value moved.
        """
        coordinator = self._coordinator
        limits = TransferLimits.from_options(coordinator.config_entry.options)
        limits.check_single(amount)
        async with self.lock:
            started = dt_util.utcnow()
            sent = await self._ledger.async_sent_since(started - LEDGER_WINDOW)
            limits.check_daily(amount, sent)
            record_id = await self._ledger.async_record(amount, started)
            try:
                result: T | None = await send()
            except OutcomeUnknownError:
                confirmed = await self._async_reconcile(started, matches)
                LOGGER.warning(
                    "The answer to a JSEcoin %s of %s JSE was lost; %s",
                    movement,
                    _text(amount),
                    RECONCILED[confirmed],
                )
                if confirmed is None:
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key=f"{movement}_outcome_unknown",
                        translation_placeholders={"amount": _text(amount)},
                    ) from None
                if not confirmed:
                    await self._ledger.async_cancel(record_id)
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key=f"{movement}_not_sent",
                        translation_placeholders={"amount": _text(amount)},
                    ) from None
                result = None
            except CoinHubError:
                # Refused, unreachable or invalid: the client raises these only when
                # nothing can have moved.
                await self._ledger.async_cancel(record_id)
                raise
        await coordinator.async_request_refresh()
        return result

    async def _async_reconcile(
        self,
        started: datetime,
        matches: Callable[[HistoryEntry], bool],
    ) -> bool | None:
        """Tell from the history whether a send whose answer was lost went through.

        ``True``: an entry newer than the send shows it. ``False``: the history was read
        and, also after a short re-check, shows nothing. ``None``: it could not be read.
        Every history read goes to the coordinator, so the events stay exact.
        """
        coordinator = self._coordinator
        earliest = started - CLOCK_TOLERANCE
        history_read = False
        for delay in (0.0, RECHECK_DELAY):
            if delay:
                await asyncio.sleep(delay)
            try:
                history = await coordinator.client.history()
            except CoinHubError:
                continue
            history_read = True
            await coordinator.async_process_history(history)
            for entry in history.entries:
                if (
                    entry.timestamp >= earliest
                    and entry.id not in self._claimed_history_ids
                    and matches(entry)
                ):
                    self._claimed_history_ids.add(entry.id)
                    return True
        return False if history_read else None


def _same_counterparty(entry: HistoryEntry, recipient: str) -> bool:
    """Tell whether a history entry may have gone to ``recipient``.

    An entry that does not name its counterparty is not ruled out.
    """
    if "@" in recipient:
        email = entry.counterparty_email
        return email is None or email.lower() == recipient.lower()
    key = entry.counterparty_public_key
    return key is None or key.lower() == recipient.lower()
