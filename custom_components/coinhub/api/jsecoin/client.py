"""Async client of the JSEcoin API.

The API key travels only in the ``Authorization`` header; the key's path segment carries
the placeholder ``auth`` (the provider accepts either), so the key never enters a URL.
Every other path segment is checked and percent-encoded before anything is sent, and
the URL is handed to aiohttp already encoded so nothing is normalised or decoded again:
a lookup can never turn into another endpoint.

Transfers, exports and imports are GET requests with side effects. They are sent once,
without redirects and with :func:`refuse_resend` so aiohttp cannot silently re-send them
after a dropped connection; an answer lost after sending raises
:class:`OutcomeUnknownError`. The one refusal that proves nothing moved — the account is
locked until the next block — is waited out and sent again within ``lock_wait_limit``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Container, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
import math
import re
import time
from typing import Any, Final

import aiohttp
from yarl import URL

from .._http import (
    Call,
    ProviderClient,
    collection_paused,
    decode_json_object,
    join_url,
    pass_through,
    retry_after_seconds,
    safe_segment,
)
from ..exceptions import (
    AccessLevelError,
    AccountLockedError,
    AuthenticationError,
    CoinHubError,
    InvalidInputError,
    ProviderRefusedError,
    RateLimitedError,
)
from .models import (
    Balance,
    Block,
    ExportResult,
    History,
    ImportResult,
    RecentHistory,
    TransferResult,
    block_id_from_api,
)

DEFAULT_BASE_URL: Final = "https://api.jsecoin.com/server/api"
# Stands where the documented paths put the API key; the key itself goes in a header.
KEY_PLACEHOLDER: Final = "auth"
MAIN_BALANCE_LOOKUP: Final = "0"

MIN_AMOUNT: Final = Decimal("0.000001")
AMOUNT_DECIMALS: Final = 8
RATE_LIMIT_REQUESTS: Final = 500
RATE_LIMIT_WINDOW: Final = 900.0
DEFAULT_LOCK_WAIT_LIMIT: Final = 60.0
# What the provider's lock refusal asks for when it names no delay.
DEFAULT_LOCK_RETRY_AFTER: Final = 20.0

# Characters a transfer reference (and a lookup) may hold: the provider keeps only
# `` .$*+?\-_:/&=,{}@``, letters and digits, and whitespace, and silently drops anything
# else; of those, this set travels unchanged in one URL path segment and means nothing
# to a URL or the provider's router. A reference with anything else is refused, never
# silently rewritten.
REFERENCE_CHARACTERS: Final = "A-Za-z0-9._:,@-"
MAX_REFERENCE_LENGTH: Final = 255
MAX_LOOKUP_LENGTH: Final = 255
MAX_COIN_CODE_LENGTH: Final = 255

_REFERENCE = re.compile(rf"[{REFERENCE_CHARACTERS}]+")
_LOOKUP = re.compile(rf"[{REFERENCE_CHARACTERS}]+")
_EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_MAX_EMAIL_LENGTH = 254
# An uncompressed (130 hex digits) or compressed (66) secp256k1 public key, or a bare
# 64-digit coordinate.
_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64,130}")
_COIN_CODE = re.compile(r"[A-Za-z0-9_-]+")
_HEADER_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")

# The provider's notifications, recognised in this one place.
_LOCKED = re.compile(
    r"locked pending recent transaction(?:.*?try again in (\d+(?:\.\d+)?) seconds?)?",
    re.IGNORECASE,
)
_NO_ACCESS = re.compile(r"does not have (read|write) access", re.IGNORECASE)
# A per-key limit of one call ("API Limit reached: 60 getblock requests per 30 mins"),
# answered with HTTP 400: a rate limit of that call, not a refusal of the input.
_CALL_LIMIT = re.compile(
    r"API Limit reached.*?per (\d+(?:\.\d+)?)\s*min", re.IGNORECASE | re.DOTALL
)
_KEY_REFUSED = re.compile(
    r"API key not recognized|credentials could not be (?:matched|found)",
    re.IGNORECASE,
)

type Sleep = Callable[[float], Awaitable[object]]


class RequestBudget:
    """The provider's rate limit, kept on our side so it is never hit.

    A sliding window of ``requests`` per ``window`` seconds. :meth:`acquire` is called
    before each request and raises :class:`RateLimitedError` — nothing is sent — when
    the window is full.
    """

    def __init__(
        self,
        requests: int = RATE_LIMIT_REQUESTS,
        window: float = RATE_LIMIT_WINDOW,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Allow ``requests`` per ``window`` seconds, measured with ``clock``.

        Without ``clock`` the budget reads :func:`time.monotonic` at each call (not
        once at import), so a test clock that replaces it is followed.
        """
        if requests < 1 or window <= 0:
            raise ValueError("a budget needs at least one request per positive window")
        self.requests = requests
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()
        self._held_until = 0.0
        # Calls the provider limits on their own, each held until its window ends.
        self._calls_held_until: dict[str, float] = {}

    def __repr__(self) -> str:
        """Show the limit and what is left of it."""
        return (
            f"RequestBudget(requests={self.requests}, window={self.window}, "
            f"remaining={self.remaining})"
        )

    def _now(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    @property
    def remaining(self) -> int:
        """How many requests may be sent right now."""
        now = self._now()
        if now < self._held_until:
            return 0
        self._forget_before(now - self.window)
        return self.requests - len(self._sent)

    def acquire(self, call: str | None = None) -> None:
        """Count one request, or raise :class:`RateLimitedError` when none is left.

        ``call`` names the request's endpoint, for limits of one call only.
        """
        now = self._now()
        if call is not None and now < (until := self._calls_held_until.get(call, 0)):
            retry_after = max(1, math.ceil(until - now))
            raise RateLimitedError(
                f"JSEcoin limits {call} requests of this key; "
                f"try again in {retry_after} seconds",
                retry_after=retry_after,
            )
        if now < self._held_until:
            raise self._exhausted(self._held_until - now)
        self._forget_before(now - self.window)
        if len(self._sent) >= self.requests:
            raise self._exhausted(self._sent[0] + self.window - now)
        self._sent.append(now)

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds``: the provider itself said it is throttling."""
        self._held_until = max(self._held_until, self._now() + seconds)

    def hold_call(self, call: str, seconds: float) -> None:
        """Send no ``call`` for ``seconds``: the provider's own limit of it was reached.

        Other calls go on: the provider counts this one apart.
        """
        until = self._now() + seconds
        self._calls_held_until[call] = max(self._calls_held_until.get(call, 0), until)

    def _forget_before(self, start: float) -> None:
        while self._sent and self._sent[0] <= start:
            self._sent.popleft()

    def _exhausted(self, wait: float) -> RateLimitedError:
        retry_after = max(1, math.ceil(wait))
        return RateLimitedError(
            f"JSEcoin allows {self.requests} requests per {self.window:g} seconds; "
            f"try again in {retry_after} seconds",
            retry_after=retry_after,
        )


def format_amount(amount: Decimal | float | str) -> str:
    """Return ``amount`` as the provider reads it, or raise :class:`InvalidInputError`.

    The amount must be finite, at least ``MIN_AMOUNT`` and have at most
    ``AMOUNT_DECIMALS`` decimals (the provider would round anything finer). It is
    written out in full, never with an exponent. A float is read as it prints
    (``0.1`` is ``Decimal("0.1")``).
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | float | str):
        raise InvalidInputError("amount", "must be a decimal number")
    try:
        value = Decimal(repr(amount) if isinstance(amount, float) else amount)
    except InvalidOperation:
        raise InvalidInputError("amount", "must be a decimal number") from None
    if not value.is_finite():
        raise InvalidInputError("amount", "must be a finite number")
    if value < MIN_AMOUNT:
        raise InvalidInputError("amount", f"must be at least {MIN_AMOUNT:f} JSE")
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_DECIMALS:
        raise InvalidInputError(
            "amount", f"must have at most {AMOUNT_DECIMALS} decimals"
        )
    return f"{normalized:f}"


def validate_transfer(recipient: str, amount: Decimal, reference: str) -> None:
    """Raise :class:`InvalidInputError` unless :meth:`JSEcoinClient.transfer` would send.

    The same checks the client applies, for callers that must refuse bad input before
    they commit to anything (a daily ledger, a lock).
    """
    _checked_recipient(recipient)
    format_amount(amount)
    _checked_reference(reference)


def _checked_recipient(recipient: str) -> str:
    if not isinstance(recipient, str) or not recipient:
        raise InvalidInputError("recipient", "must not be empty")
    if "@" in recipient:
        if len(recipient) > _MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(recipient):
            raise InvalidInputError("recipient", "is not a valid e-mail address")
    elif not _PUBLIC_KEY.fullmatch(recipient):
        raise InvalidInputError(
            "recipient", "must be an e-mail address or a hex public key"
        )
    return safe_segment("recipient", recipient)


def _checked_reference(reference: str) -> str:
    if not isinstance(reference, str) or not reference:
        raise InvalidInputError("reference", "must not be empty")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidInputError(
            "reference", f"must be at most {MAX_REFERENCE_LENGTH} characters"
        )
    if not _REFERENCE.fullmatch(reference):
        raise InvalidInputError(
            "reference",
            "may hold only letters, digits and . _ : , @ - (no spaces)",
        )
    return safe_segment("reference", reference)


def _checked_lookup(lookup: str) -> str:
    if not isinstance(lookup, str) or not lookup:
        raise InvalidInputError("lookup", "must not be empty")
    # safe_segment first: it refuses what could change the URL (/, %2F, ?, #, ..).
    segment = safe_segment("lookup", lookup)
    if len(lookup) > MAX_LOOKUP_LENGTH or not _LOOKUP.fullmatch(lookup):
        raise InvalidInputError(
            "lookup", "must be a site id or sub id (letters, digits and . _ : , @ -)"
        )
    return segment


def _checked_coin_code(coin_code: str) -> str:
    # Never echo the code: it is cash.
    if not isinstance(coin_code, str) or not coin_code:
        raise InvalidInputError("coin_code", "must not be empty")
    if len(coin_code) > MAX_COIN_CODE_LENGTH or not _COIN_CODE.fullmatch(coin_code):
        raise InvalidInputError("coin_code", "is not a JSEcoin coin code")
    return safe_segment("coin_code", coin_code)


def _checked_block_number(number: int) -> str:
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise InvalidInputError("block", "must be a whole number, 0 or more")
    return str(number)


# The calls, named as the provider's paths start; the three writes are sent at most once.
_BALANCE: Final = Call("/balance/", writes=False)
_HISTORY: Final = Call("/history/", writes=False)
_CURRENT_BLOCK_ID: Final = Call("/currentblockid/", writes=False)
_BLOCK: Final = Call("/getblock/", writes=False)
_TRANSFER: Final = Call("/transfer/", writes=True)
_EXPORT: Final = Call("/export/", writes=True)
_IMPORT: Final = Call("/import/", writes=True)


def _url(base_url: str, *segments: str) -> URL:
    """Return the URL of already encoded ``segments``, as the provider's paths end."""
    return join_url(base_url, segments, trailing_slash=True)


# A poll repeats the same reads, so their URLs are checked and built once. Only reads
# are kept: a lookup at most, never a credential, an amount or a recipient.
@lru_cache(maxsize=256)
def _read_url(base_url: str, endpoint: str) -> URL:
    """Return the URL of a read of the account."""
    return _url(base_url, endpoint, KEY_PLACEHOLDER)


@lru_cache(maxsize=256)
def _balance_url(base_url: str, lookup: str) -> URL:
    """Return the URL of a balance read, the lookup checked."""
    return _url(base_url, "balance", KEY_PLACEHOLDER, _checked_lookup(lookup))


# Decoding and parsing cost about 10 µs per history entry (scripts/bench.py): past these
# sizes the work moves to a worker thread so the event loop is never held for long.
THREAD_DECODE_BYTES = 256 * 1024
THREAD_PARSE_ENTRIES = 1000


# What a read keeps of its decoded body (run where the body was decoded).
type Pick = Callable[[dict[str, Any]], dict[str, Any]]


def _decode_and_pick(raw: bytes, pick: Pick) -> dict[str, Any] | None:
    """Decode a body with its amounts as text, and keep what ``pick`` keeps of it."""
    body = decode_json_object(raw, parse_float=str)
    return None if body is None else pick(body)


def _decode_long(raw: bytes) -> dict[str, Any] | None:
    """Decode a long body in a worker thread, letting the event loop in meanwhile.

    See :func:`_decode_long_and_pick`; here every amount becomes a ``Decimal``.
    """
    with collection_paused():
        return decode_json_object(raw, parse_float=Decimal, object_hook=pass_through)


def _decode_long_and_pick(raw: bytes, pick: Pick) -> dict[str, Any] | None:
    """Do :func:`_decode_and_pick` for a long body, in a worker thread.

    The collector is paused meanwhile and the decoder lets the event loop in now and
    then (:func:`pass_through`): a thread alone does not free the loop, as decoding
    holds the interpreter. What ``pick`` drops is freed here, still paused.
    """
    with collection_paused():
        body = decode_json_object(raw, parse_float=str, object_hook=pass_through)
        return None if body is None else pick(body)


class JSEcoinClient(ProviderClient):
    """Calls to the JSEcoin API for the account of one API key.

    The session is injected and never closed here. Requests count against ``budget``:
    every client of one key should share one (the caller keeps it), else each client
    starts a fresh one.
    ``sleep`` is how the client waits out an account lock (injectable for tests).
    """

    provider = "JSEcoin"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 10,
        budget: RequestBudget | None = None,
        lock_wait_limit: float = DEFAULT_LOCK_WAIT_LIMIT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Keep the account's key; nothing is sent until a call is made."""
        if not isinstance(api_key, str) or not api_key:
            raise InvalidInputError("api_key", "must not be empty")
        if _HEADER_UNSAFE.search(api_key):
            raise InvalidInputError(
                "api_key", "must not contain whitespace or control characters"
            )
        super().__init__(session, base_url=base_url, request_timeout=request_timeout)
        self._api_key = api_key
        self._budget = budget if budget is not None else RequestBudget()
        self._lock_wait_limit = lock_wait_limit
        self._sleep = sleep

    def __repr__(self) -> str:
        """Name the server, never the key."""
        return f"JSEcoinClient(base_url={self._base_url!r})"

    def _secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    @property
    def budget(self) -> RequestBudget:
        """The request budget this client draws from."""
        return self._budget

    async def balance(self, lookup: str = MAIN_BALANCE_LOOKUP) -> Balance:
        """Return the main balance (lookup ``"0"``) or that of a site id or sub id."""
        url = _balance_url(self._base_url, lookup)
        return Balance.from_api(await self._send(_BALANCE, url))

    async def transfer(
        self, recipient: str, amount: Decimal, reference: str
    ) -> TransferResult:
        """Send ``amount`` JSE to an e-mail address or public key. Sent at most once."""
        url = _url(
            self._base_url,
            "transfer",
            KEY_PLACEHOLDER,
            _checked_recipient(recipient),
            format_amount(amount),
            _checked_reference(reference),
        )
        return await self._write(_TRANSFER, url, TransferResult.from_api)

    async def export_coins(self, amount: Decimal) -> ExportResult:
        """Turn ``amount`` JSE into a coin code. Sent at most once."""
        url = _url(self._base_url, "export", KEY_PLACEHOLDER, format_amount(amount))
        return await self._write(_EXPORT, url, ExportResult.from_api)

    async def import_coins(self, coin_code: str) -> ImportResult:
        """Credit the value of a coin code to the account. Sent at most once."""
        url = _url(
            self._base_url, "import", KEY_PLACEHOLDER, _checked_coin_code(coin_code)
        )
        return await self._write(_IMPORT, url, ImportResult.from_api, secret=coin_code)

    async def history(self) -> History:
        """Return the account's transactions, oldest first."""
        body = await self._send(_HISTORY, _read_url(self._base_url, "history"))
        entries = body.get("history")
        if isinstance(entries, dict) and len(entries) > THREAD_PARSE_ENTRIES:
            # A mining account's history grows long: keep the event loop free meanwhile.
            return await asyncio.to_thread(History.from_api, body)
        return History.from_api(body)

    async def recent_history(
        self,
        since: datetime | None,
        *,
        window: timedelta,
        known: Container[str] = frozenset(),
    ) -> RecentHistory:
        """Return the entries from ``since`` on not ``known`` (or within ``window``).

        What a poll needs of a history that may hold 100,000 entries: the entries from
        ``since`` on whose id is not in ``known`` or, without ``since``, every entry
        within ``window`` of the newest. Amounts are decoded as text (exact, and a
        ``Decimal`` only for the entries picked), and a long body is decoded and
        scanned in a worker thread with the collector paused, so the full object never
        reaches the event loop and is freed where it was made. ``known`` is read there
        too: it must not change meanwhile.
        """

        def pick(body: dict[str, Any]) -> dict[str, Any]:
            if body.get("success") in {1, "1"} and not body.get("fail"):
                body["history"] = RecentHistory.from_api(
                    body.get("history"), since=since, window=window, known=known
                )
            return body

        url = _read_url(self._base_url, "history")
        body = await self._send(_HISTORY, url, pick=pick)
        recent: RecentHistory = body["history"]
        return recent

    async def current_block_id(self) -> int:
        """Return the id of the block being worked on."""
        url = _read_url(self._base_url, "currentblockid")
        return block_id_from_api(await self._send(_CURRENT_BLOCK_ID, url))

    async def block(self, number: int) -> Block:
        """Return block ``number`` with its transactions."""
        url = _url(
            self._base_url, "getblock", _checked_block_number(number), KEY_PLACEHOLDER
        )
        return Block.from_api(await self._send(_BLOCK, url))

    async def _write[T](
        self,
        call: Call,
        url: URL,
        parse: Callable[[Mapping[str, Any]], T],
        *,
        secret: str | None = None,
    ) -> T:
        """Send a side effect once; send it again only after a lock refusal."""
        waited = 0.0
        while True:
            try:
                body = await self._send(call, url, secret=secret)
                break
            except AccountLockedError as locked:
                # The lock proves nothing moved: waiting it out and asking again is safe.
                if waited + locked.retry_after > self._lock_wait_limit:
                    raise
                await self._sleep(locked.retry_after)
                waited += locked.retry_after
        return self._parsed(call, parse, body)

    async def _send(
        self,
        call: Call,
        url: URL,
        *,
        secret: str | None = None,
        pick: Pick | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its successful body, or raise what it means."""
        endpoint = call.name.strip("/")
        self._budget.acquire(endpoint)
        answer = await self._request(
            "GET", url, call, headers={"Authorization": self._api_key}
        )
        status, raw = answer.status, answer.body
        if status == 429:
            retry_after = retry_after_seconds(answer.headers.get("Retry-After"))
            self._budget.hold(retry_after or RATE_LIMIT_WINDOW)
            raise RateLimitedError(
                "JSEcoin is refusing requests for now (too many requests)",
                retry_after=retry_after,
            )
        if pick is not None:
            body = (
                await asyncio.to_thread(_decode_long_and_pick, raw, pick)
                if len(raw) > THREAD_DECODE_BYTES
                else _decode_and_pick(raw, pick)
            )
        else:
            body = (
                await asyncio.to_thread(_decode_long, raw)
                if len(raw) > THREAD_DECODE_BYTES
                else decode_json_object(raw, parse_float=Decimal)
            )
        if body is not None and body.get("fail"):
            refusal = self._refusal(body, status, secret)
            if isinstance(refusal, RateLimitedError) and refusal.retry_after:
                # A limit of this call alone: hold it, let the key's other calls go on.
                self._budget.hold_call(endpoint, refusal.retry_after)
            raise refusal
        if body is not None and status == 200 and body.get("success") in {1, "1"}:
            return body
        raise self._unreadable(call, status)

    def _refusal(
        self, body: Mapping[str, Any], status: int, secret: str | None
    ) -> CoinHubError:
        """Turn a ``fail`` answer into the exception its notification stands for."""
        notification = self._scrubbed(body.get("notification"), secret)
        if limit := _CALL_LIMIT.search(notification):
            # When the provider's window started is unknown: wait all of it.
            window = float(limit.group(1)) * 60
            return RateLimitedError(f"JSEcoin: {notification}", retry_after=window)
        if locked := _LOCKED.search(notification):
            delay = locked.group(1)
            return AccountLockedError(
                notification,
                retry_after=float(delay) if delay else DEFAULT_LOCK_RETRY_AFTER,
            )
        if access := _NO_ACCESS.search(notification):
            level = 1 if access.group(1).lower() == "read" else 2
            return AccessLevelError(
                f"JSEcoin: {notification} (API access level {level} needed)",
                required_level=level,
            )
        if status == 401 or _KEY_REFUSED.search(notification):
            return AuthenticationError(f"JSEcoin refused the API key: {notification}")
        return ProviderRefusedError(notification)
