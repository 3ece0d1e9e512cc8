"""Typed answers of the JSEcoin API, parsed in one place.

Every ``from_api`` takes the decoded JSON body of a success answer (decoded with
``parse_float=Decimal``, so amounts stay exact) and raises
:class:`~custom_components.coinhub.api.exceptions.CannotConnectError` when the body does
not have the documented shape. The provider sends some numbers as strings (``blockID``,
import's ``value``) and others as JSON numbers: both are accepted everywhere.

A coin code is cash: it is kept only in :class:`ExportResult`, out of its repr. A
history entry keeps only a digest of its ``coinCode`` (out of its repr), so a code can
be recognised in the history without the history holding it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
import hashlib
import hmac
from itertools import chain
import json
import math
from typing import Any, NamedTuple

from .._parse import (
    EARLIEST_MILLISECONDS,
    LATEST_MILLISECONDS,
    AnswerFields,
    from_unix_milliseconds,
    to_unix_milliseconds,
)
from ..exceptions import CannotConnectError

# The commands the provider writes into history and blocks (others are kept as-is).
COMMAND_TRANSFER = "transfer"
COMMAND_MINING = "mining"
COMMAND_IMPORT = "import"
COMMAND_EXPORT = "export"


_fields = AnswerFields("JSEcoin")


def _optional_integer(value: Any, what: str) -> int | None:
    return None if value is None or value == "" else _fields.integer(value, what)


def _optional_text(value: Any) -> str | None:
    """Return a non-empty string, or ``None`` for anything else."""
    return value if isinstance(value, str) and value else None


def _optional_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _notification(body: Mapping[str, Any]) -> str:
    value = body.get("notification")
    return value if isinstance(value, str) else ""


def _optional_timestamp(milliseconds: Any, what: str) -> datetime | None:
    return (
        None if milliseconds is None else _fields.unix_milliseconds(milliseconds, what)
    )


def _embedded_data(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the signed ``data`` object a transfer carries as a JSON string, if any."""
    raw = entry.get("data")
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _signed_command(
    entry: Mapping[str, Any], what: str
) -> tuple[Mapping[str, Any], str]:
    """Return a transaction's signed ``data`` and its command, from either place."""
    data = _embedded_data(entry)
    command = entry.get("command", data.get("command"))
    if not isinstance(command, str) or not command:
        raise _fields.unexpected(f"command in {what}")
    return data, command


def _entry_milliseconds(entry: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
    """Return when a history entry happened, as sent: its own ``ts`` comes first."""
    for candidate in (entry.get("ts"), data.get("ts"), entry.get("received")):
        if candidate is not None:
            return candidate
    return None


def _keyed_objects(
    raw: Any, what: str, item: str
) -> list[tuple[str, Mapping[str, Any]]]:
    """Return the objects of an object keyed by id (history, block inputs); null is none."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _fields.unexpected(what)
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise _fields.unexpected(f"{item} {key}")
    return list(raw.items())


def block_id_from_api(body: Mapping[str, Any]) -> int:
    """Parse a ``currentblockid`` success; its ``blockID`` comes as a string."""
    return _fields.integer(body.get("blockID"), "blockID")


@dataclass(frozen=True, slots=True)
class Balance:
    """The main balance of the account, or the balance of one site id or sub id."""

    balance: Decimal
    notification: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Balance:
        """Parse a ``balance`` success."""
        return cls(
            balance=_fields.decimal(body.get("balance"), "balance"),
            notification=_notification(body),
        )


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The provider's confirmation of a transfer."""

    notification: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> TransferResult:
        """Parse a ``transfer`` success."""
        return cls(notification=_notification(body))


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A coin code created by an export; whoever holds it can import its value."""

    coin_code: str = field(repr=False)
    notification: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> ExportResult:
        """Parse an ``export`` success."""
        return cls(
            coin_code=_fields.text(body, "coinCode"), notification=_notification(body)
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The value a coin code credited to the account."""

    value: Decimal

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> ImportResult:
        """Parse an ``import`` success; its ``value`` comes as a string."""
        return cls(value=_fields.decimal(body.get("value"), "value"))


def coin_code_digest(coin_code: str) -> str:
    """Return what identifies a coin code without revealing it."""
    return hashlib.sha256(coin_code.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transaction of the account's history.

    ``value`` is signed: the sender's entry of a transfer is negative. ``user_id`` is the
    account's own user id as the entry shows it; the counterparty fields are the other
    side of a transfer (``None`` for mining, imports and exports).
    """

    id: str
    command: str
    value: Decimal
    timestamp: datetime
    reference: str | None
    counterparty_email: str | None
    counterparty_public_key: str | None
    user_id: int | None
    coin_code_digest: str | None = field(default=None, repr=False, compare=False)
    """SHA-256 of the entry's coin code (imports and exports), never the code."""

    def imports_coin_code(self, coin_code: str) -> bool:
        """Tell whether this entry is the import of ``coin_code``."""
        return (
            self.command == COMMAND_IMPORT
            and self.coin_code_digest is not None
            and hmac.compare_digest(self.coin_code_digest, coin_code_digest(coin_code))
        )

    @property
    def incoming(self) -> bool:
        """Tell whether the entry added to the balance (its value is not negative)."""
        return self.value >= 0

    @classmethod
    def from_api(cls, entry_id: str, entry: Mapping[str, Any]) -> HistoryEntry:
        """Parse one entry of the ``history`` object (keyed by transaction id)."""
        what = f"history entry {entry_id}"
        data, command = _signed_command(entry, what)
        value = _fields.decimal(
            entry.get("value", data.get("value")), f"value in {what}"
        )
        if not math.isfinite(float(value)):  # beyond what an event can carry
            raise _fields.unexpected(f"value in {what}")
        timestamp = _fields.unix_milliseconds(
            _entry_milliseconds(entry, data), f"ts in {what}"
        )
        user1 = _optional_integer(entry.get("user1"), f"user1 in {what}")
        user2 = _optional_integer(entry.get("user2"), f"user2 in {what}")
        counterparty_email = counterparty_key = None
        user_id = user1
        if command == COMMAND_TRANSFER:
            public_key = _optional_text(entry.get("publicKey"))
            to_public_key = _optional_text(entry.get("toPublicKey"))
            if value < 0:  # we sent it: the other side is user2
                counterparty_email = _optional_text(entry.get("user2email"))
                counterparty_key = to_public_key
            else:
                counterparty_email = _optional_text(entry.get("user1email"))
                counterparty_key = public_key
                user_id = user2
        coin_code = entry.get("coinCode")
        return cls(
            id=entry_id,
            command=command,
            value=value,
            coin_code_digest=coin_code_digest(coin_code)
            if isinstance(coin_code, str) and coin_code
            else None,
            timestamp=timestamp,
            reference=_optional_text(entry.get("reference")),
            counterparty_email=counterparty_email,
            counterparty_public_key=counterparty_key,
            user_id=user_id,
        )


@dataclass(frozen=True, slots=True)
class History:
    """The account's history, oldest first (by timestamp, then transaction id)."""

    entries: tuple[HistoryEntry, ...]
    account_user_id: int | None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> History:
        """Parse a ``history`` success; ``"history": null`` is an empty history."""
        entries = [
            HistoryEntry.from_api(entry_id, entry)
            for entry_id, entry in _keyed_objects(
                body.get("history"), "history", "history entry"
            )
        ]
        entries.sort(key=lambda entry: (entry.timestamp, entry.id))
        user_ids = Counter(e.user_id for e in entries if e.user_id is not None)
        account_user_id = user_ids.most_common(1)[0][0] if user_ids else None
        return cls(entries=tuple(entries), account_user_id=account_user_id)


class HistoryRecord(NamedTuple):
    """A history entry told apart by its time and id, parsed only when asked.

    Finding what is new in a long history needs no more than these two, compared as
    whole numbers; an entry's amounts and counterparty are parsed by :meth:`entry`
    for the few that matter. A tuple, as a poll makes one per entry of the window.
    """

    milliseconds: int
    """The entry's unix time in milliseconds, as the provider tells it."""
    id: str
    source: Mapping[str, Any] | HistoryEntry

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryRecord:
        """Return the record of an entry already parsed."""
        return cls(to_unix_milliseconds(entry.timestamp), entry.id, entry)

    @property
    def timestamp(self) -> datetime:
        """Return the entry's time."""
        return from_unix_milliseconds(self.milliseconds)

    def entry(self) -> HistoryEntry:
        """Parse the entry; raises ``CannotConnectError`` when it is malformed."""
        if isinstance(self.source, HistoryEntry):
            return self.source
        return HistoryEntry.from_api(self.id, self.source)


@dataclass(frozen=True, slots=True)
class RecentHistory:
    """The recent part of an account's history, oldest first, as records.

    ``size`` counts every entry of the history; ``skipped`` those left out because
    they are not an object or tell no readable time.
    """

    records: tuple[HistoryRecord, ...]
    size: int
    skipped: int

    @classmethod
    def from_api(
        cls,
        raw: Any,
        *,
        since: datetime | None,
        window: timedelta,
        known: Container[str] = frozenset(),
    ) -> RecentHistory:
        """Pick the recent entries out of a decoded ``history`` object.

        Picked are the entries from ``since`` on whose id is not in ``known`` or,
        without ``since``, every entry within ``window`` of the newest. Only the picked
        entries become records: the rest of a long history is looked at for its
        timestamp alone (an ``int`` ``ts``, as the provider sends it, is compared as
        is), so the cost after decoding is a quick pass plus what is picked.
        """
        if raw is None:
            return cls(records=(), size=0, skipped=0)
        if not isinstance(raw, dict):
            raise _fields.unexpected("history")
        if since is not None:
            stamps = _HistoryStamps(raw, to_unix_milliseconds(since), known)
            picked = stamps.picked
        else:
            # The first pass picks nothing: the window before the newest is what counts.
            stamps = _HistoryStamps(raw, LATEST_MILLISECONDS + 1, frozenset())
            newest = stamps.newest()
            if newest is None:
                return cls(records=(), size=len(raw), skipped=stamps.skipped)
            picked = stamps.since(newest - window // timedelta(milliseconds=1))
        # By time, then id: ids are unique, so the entries themselves are never compared.
        picked.sort()
        return cls(
            records=tuple(map(HistoryRecord._make, picked)),
            size=len(raw),
            skipped=stamps.skipped,
        )


class _HistoryStamps:
    """The timestamps of a decoded history object, in unix milliseconds.

    The provider's own ``ts`` (an ``int`` a datetime can hold) is taken as is; any
    other entry goes the long way through the parser's rules, and one that tells no
    time is skipped (and counted) rather than spoiling the rest of the history.
    """

    def __init__(
        self, raw: dict[str, Any], since_ms: int, known: Container[str]
    ) -> None:
        """Read the history once, picking the entries from ``since_ms`` on not known."""
        self._raw = raw
        self._known = known
        earliest, latest = EARLIEST_MILLISECONDS, LATEST_MILLISECONDS
        self._odd: dict[str, int | None] = {}
        self.picked: list[tuple[int, str, Any]] = []
        pick = self.picked.append
        # One pass: a poll does no more than this over a long history.
        for entry_id, entry in raw.items():
            if (
                type(entry) is dict
                and type(ms := entry.get("ts")) is int
                and earliest <= ms <= latest
            ):
                if ms >= since_ms and entry_id not in known:
                    pick((ms, entry_id, entry))
            else:
                self._odd[entry_id] = _slow_milliseconds(entry)
        self.picked += self._odd_since(since_ms)
        self.skipped = sum(ms is None for ms in self._odd.values())

    def newest(self) -> int | None:
        """Return the newest timestamp; ``None`` when no entry tells one."""
        odd = self._odd
        plain = (
            entry["ts"] for entry_id, entry in self._raw.items() if entry_id not in odd
        )
        told = (ms for ms in odd.values() if ms is not None)
        return max(chain(plain, told), default=None)

    def since(self, since_ms: int) -> list[tuple[int, str, Any]]:
        """Return ``(milliseconds, id, entry)`` of every entry from ``since_ms`` on."""
        odd, raw = self._odd, self._raw
        if odd:
            picked = [
                (entry["ts"], entry_id, entry)
                for entry_id, entry in raw.items()
                if entry_id not in odd and entry["ts"] >= since_ms
            ]
        else:
            picked = [
                (entry["ts"], entry_id, entry)
                for entry_id, entry in raw.items()
                if entry["ts"] >= since_ms
            ]
        return picked + self._odd_since(since_ms)

    def _odd_since(self, since_ms: int) -> list[tuple[int, str, Any]]:
        return [
            (ms, entry_id, self._raw[entry_id])
            for entry_id, ms in self._odd.items()
            if ms is not None and ms >= since_ms and entry_id not in self._known
        ]


def _slow_milliseconds(entry: Any) -> int | None:
    """Return an odd entry's time as the parser reads it; ``None`` if it has none."""
    if not isinstance(entry, dict):
        return None
    try:
        moment = _fields.integer(
            _entry_milliseconds(entry, _embedded_data(entry)), "ts"
        )
        _fields.unix_milliseconds(moment, "ts")
    except CannotConnectError:
        return None
    return moment


@dataclass(frozen=True, slots=True)
class BlockInput:
    """One transaction that landed in a block (mining, transfer, import, export…)."""

    id: str
    command: str
    value: Decimal
    user1: int | None
    user2: int | None
    timestamp: datetime | None

    @classmethod
    def from_api(cls, input_id: str, entry: Mapping[str, Any]) -> BlockInput:
        """Parse one entry of a block's ``input`` object."""
        what = f"block input {input_id}"
        data, command = _signed_command(entry, what)
        milliseconds = entry.get("ts", data.get("ts"))
        return cls(
            id=input_id,
            command=command,
            value=_fields.decimal(
                entry.get("value", data.get("value")), f"value in {what}"
            ),
            user1=_optional_integer(entry.get("user1"), f"user1 in {what}"),
            user2=_optional_integer(entry.get("user2"), f"user2 in {what}"),
            timestamp=_optional_timestamp(milliseconds, f"ts in {what}"),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the input as JSON-ready data."""
        return {
            "id": self.id,
            "command": self.command,
            "value": float(self.value),
            "user1": self.user1,
            "user2": self.user2,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Block:
    """A block of the JSEcoin chain with the transactions it holds."""

    block_id: int
    block_reference: int | None
    difficulty: int | None
    frequency: int | None
    hash: str
    previous_hash: str | None
    main_chain: bool | None
    open: bool | None
    nonce: str | None
    server: str | None
    start_time: datetime | None
    version: str | None
    inputs: tuple[BlockInput, ...]

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Block:
        """Parse a ``getblock`` success."""
        block = body.get("block")
        if not isinstance(block, dict):
            raise _fields.unexpected("block")
        # A block without transactions has no "input".
        inputs = [
            BlockInput.from_api(input_id, entry)
            for input_id, entry in _keyed_objects(
                block.get("input"), "block input", "block input"
            )
        ]
        nonce = block.get("nonce")
        return cls(
            block_id=_fields.integer(block.get("blockID"), "blockID"),
            block_reference=_optional_integer(
                block.get("blockReference"), "blockReference"
            ),
            difficulty=_optional_integer(block.get("difficulty"), "difficulty"),
            frequency=_optional_integer(block.get("frequency"), "frequency"),
            hash=_fields.text(block, "hash"),
            previous_hash=_optional_text(block.get("previousHash")),
            main_chain=_optional_bool(block.get("mainChain")),
            open=_optional_bool(block.get("open")),
            nonce=None if nonce is None else str(nonce),
            server=_optional_text(block.get("server")),
            start_time=_optional_timestamp(block.get("startTime"), "startTime"),
            version=_optional_text(block.get("version")),
            inputs=tuple(inputs),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the block as JSON-ready data (the ``get_block`` action's response)."""
        return {
            "block_id": self.block_id,
            "block_reference": self.block_reference,
            "difficulty": self.difficulty,
            "frequency": self.frequency,
            "hash": self.hash,
            "previous_hash": self.previous_hash,
            "main_chain": self.main_chain,
            "open": self.open,
            "nonce": self.nonce,
            "server": self.server,
            "start_time": (
                None if self.start_time is None else self.start_time.isoformat()
            ),
            "version": self.version,
            "inputs": [block_input.as_dict() for block_input in self.inputs],
        }
