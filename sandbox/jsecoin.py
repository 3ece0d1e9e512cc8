"""The JSEcoin API: balances, transfers, coin codes, history and blocks with real state.

Behaviour (what the client and the tests rely on), following the provider's document
and its public server code:

* Paths are the document's, with their trailing ``/``: ``balance/{key}/{lookup}/``,
  ``transfer/{key}/{recipient}/{amount}/{reference}/``, ``export/{key}/{amount}/``,
  ``import/{key}/{coin_code}/``, ``history/{key}/``, ``currentblockid/{key}/`` and
  ``getblock/{block}/{key}/``. Anything else (a path without its trailing ``/``)
  answers HTTP 404 with the generic ``{"fail": 1, "notification": UNKNOWN_CALL}``.
* The API key is read from the ``Authorization`` header when there is one (the key's
  path segment may then hold any placeholder), else from the path.
* Bodies are JSON sent as ``text/html``. Refusals are ``{"fail": 1, "notification": …}``:
  an unknown key HTTP 401, a missing access level HTTP 400, beyond the rate limit
  (``rate_limit.requests`` per ``rate_limit.window`` seconds per key) HTTP 429 with
  ``Retry-After``; business refusals HTTP 200. Their texts are the constants below.
* Amounts are read like JavaScript's ``parseFloat`` and rounded to 8 decimals; the
  minimum is 0.000001. Outgoing transfers and exports count against a daily limit
  (``daily_limit`` JSE per UTC day, per account overridable).
* Every write attempt (transfer, export, import) that passes the key checks locks the
  account until the next block; a write during the lock is refused with
  ``LOCKED`` and moves nothing. Blocks last ``block_seconds`` of the sandbox clock.
* Transfers add an entry to both histories (the sender's negative); exports hand out a
  single-use coin code; imports credit it once. Every transaction, and every mining
  reward the admin API credits, lands in the current block's inputs.
* Whether a mining reward is also written into the account's history is not documented:
  the seed's ``mining_in_history`` (default ``true``) and the admin route
  ``POST /mining_in_history {"enabled": …}`` switch it, so clients can be tested both ways.

Time comes only from ``context.clock`` and randomness only from ``context.rng``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
import hashlib
import json
import math
import re
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .context import json_object, wait_beyond_limit

if TYPE_CHECKING:
    import random

    from .clock import Clock
    from .context import SandboxContext

DEFAULT_FIRST_BLOCK_ID: Final = 72318
DEFAULT_BLOCK_SECONDS: Final = 30.0
DEFAULT_DAILY_LIMIT: Final = Decimal(2000)
DEFAULT_RATE_LIMIT: Final = 500
DEFAULT_RATE_WINDOW: Final = 900.0
MIN_AMOUNT: Final = Decimal("0.000001")
DISTRIBUTION_UID: Final = 0  # the provider's own account: never locked
EIGHT_DECIMALS: Final = Decimal("0.00000001")
MAX_REFERENCE_LENGTH: Final = 255
SERVER_NAME: Final = "jsecoin-sandbox"
VERSION: Final = "JSEcoin Controller sandbox"

# Refusals of the key (HTTP 401 / 400) and of the rate limit (HTTP 429).
KEY_NOT_RECOGNIZED: Final = "API key not recognized"
NO_READ_ACCESS: Final = "API key does not have read access"
NO_WRITE_ACCESS: Final = "API key does not have write access"
RATE_LIMITED: Final = (
    "API rate limit reached: {} requests per 15 minutes, try again in {} seconds"
)
UNKNOWN_CALL: Final = "API call not recognized, check the path and its trailing /"
# Business refusals (HTTP 200); "{action}" is Transfer, Export or Import.
LOCKED: Final = (
    "{action} Failed: Account {uid} locked pending recent transaction, "
    "please try again in {seconds} seconds"
)
NO_VALUE: Final = "{action} Failed: No value given"
INSUFFICIENT_FUNDS: Final = "{action} Failed: Insufficient Funds"
LIMIT_REACHED: Final = (
    "{action} Failed: Value greater than remaining transaction limit, {left} JSE"
)
TOO_SMALL: Final = "{action} Failed: Transfer value is negative or too small"
UNKNOWN_RECIPIENT: Final = "Transfer Failed: User receiving funds unknown"
OWN_ACCOUNT: Final = "Transfer Failed: You cannot send money to your own account"
COIN_CODE_UNKNOWN: Final = "Import Failed: Coin Code Not Recognized"
COIN_CODE_USED: Final = "Transfer Failed: Coin Code Used"
UNKNOWN_LOOKUP: Final = "Balance Failed: Unknown site id or sub id"
BLOCK_NOT_FOUND: Final = "Block not found"
# Successes.
BALANCE: Final = "Your balance is {} JSE"
LOOKUP_BALANCE: Final = "The balance of {} is {} JSE"
TRANSFER_CONFIRMED: Final = "Transfer Has Been Confirmed"
EXPORT_SUCCESSFUL: Final = "Export Successful"

# What the provider keeps of a transfer reference (its cleanString whitelist).
_REFERENCE_DROPPED = re.compile(r"[^ .$*+?\\\-_:/&=,{}@a-zA-Z0-9\s]")
_PARSE_FLOAT = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
# Firebase push ids: 8 characters of time, then 12 random ones; they sort by time.
_PUSH_CHARS: Final = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@dataclass
class Account:
    """One JSEcoin user and its API key."""

    name: str
    uid: int
    email: str
    public_key: str
    api_key: str
    access_level: int
    balance: Decimal
    lookups: dict[str, Decimal] = field(default_factory=dict)
    daily_limit: Decimal | None = None  # None: the sandbox's default
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    locked_until_block: int = 0  # write attempts are refused before this block
    spent_day: str = ""
    spent_today: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        """Return the state for the admin API."""
        return {
            "name": self.name,
            "uid": self.uid,
            "email": self.email,
            "public_key": self.public_key,
            "api_key": self.api_key,
            "access_level": self.access_level,
            "balance": _text(self.balance),
            "lookups": {name: _text(value) for name, value in self.lookups.items()},
            "daily_limit": None
            if self.daily_limit is None
            else _text(self.daily_limit),
            "spent_today": _text(self.spent_today),
            "locked_until_block": self.locked_until_block,
            "history_count": len(self.history),
        }


@dataclass
class CoinCode:
    """An exported value waiting to be imported once."""

    uid: int
    value: Decimal
    used: bool = False


class RefusalError(Exception):
    """A ``{"fail": 1, "notification": …}`` answer: HTTP 200 unless said otherwise."""

    def __init__(
        self, notification: str, *, status: int = 200, retry_after: int | None = None
    ) -> None:
        """Keep the notification, the HTTP status and the Retry-After seconds."""
        super().__init__(notification)
        self.notification = notification
        self.status = status
        self.retry_after = retry_after

    def response(self) -> web.Response:
        """Return the provider's failure answer."""
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return _answer(
            {"fail": 1, "notification": self.notification},
            status=self.status,
            headers=headers,
        )


class JSEcoinState:
    """Accounts, coin codes and blocks of the JSEcoin sandbox."""

    def __init__(self, context: SandboxContext) -> None:
        """Load the seed: chain settings, accounts and their past history."""
        seed = context.provider_seed("jsecoin")
        self.clock: Clock = context.clock
        self.rng: random.Random = context.rng
        self.block_seconds = float(seed.get("block_seconds", DEFAULT_BLOCK_SECONDS))
        # Block arithmetic is done in whole milliseconds, like every ``ts``.
        self.block_ms = max(1, round(self.block_seconds * 1000))
        self.first_block_id = int(seed.get("first_block_id", DEFAULT_FIRST_BLOCK_ID))
        self.genesis_ms = self.clock.now_ms()  # when first_block_id opened
        self.daily_limit = Decimal(str(seed.get("daily_limit", DEFAULT_DAILY_LIMIT)))
        rate_limit = seed.get("rate_limit", {})
        self.rate_limit = int(rate_limit.get("requests", DEFAULT_RATE_LIMIT))
        self.rate_window = float(rate_limit.get("window", DEFAULT_RATE_WINDOW))
        self.mining_in_history = bool(seed.get("mining_in_history", True))
        self.accounts: dict[int, Account] = {}
        self.coin_codes: dict[str, CoinCode] = {}
        self.block_inputs: dict[int, dict[str, dict[str, Any]]] = {}
        self.recent_requests: dict[str, deque[float]] = {}
        # Raw request paths as received, so tests can prove no key ever was in one.
        self.seen_paths: deque[str] = deque(maxlen=1000)
        seeded = [
            (self.add_account(account_seed), account_seed)
            for account_seed in seed.get("accounts", [])
        ]
        for account, account_seed in seeded:  # transfers need every account first
            self._seed_history(account, account_seed)

    # Accounts

    def add_account(self, data: dict[str, Any]) -> Account:
        """Create an account; missing keys, ids and e-mails come from the seeded rng."""
        uid = (
            int(data["uid"])
            if data.get("uid") is not None
            else max(self.accounts, default=0) + 1
        )
        if uid in self.accounts:
            raise ValueError(f"uid {uid} already exists")
        name = str(data.get("name") or f"user{uid}")
        account = Account(
            name=name,
            uid=uid,
            email=str(data.get("email") or f"{name}@example.com").lower(),
            public_key=str(
                data.get("public_key") or f"04{self.rng.getrandbits(512):0128x}"
            ),
            api_key=str(
                data.get("api_key") or f"sandbox-jse-{self.rng.getrandbits(128):032x}"
            ),
            access_level=_level(data.get("access_level", 1)),
            balance=_rounded(data.get("balance", 0)),
            lookups={
                str(lookup): _rounded(value)
                for lookup, value in dict(data.get("lookups") or {}).items()
            },
            daily_limit=(
                None
                if data.get("daily_limit") is None
                else _rounded(data["daily_limit"])
            ),
        )
        self.accounts[uid] = account
        return account

    def find(self, reference: str) -> Account | None:
        """Return the account with this uid or name."""
        for account in self.accounts.values():
            if reference in {str(account.uid), account.name}:
                return account
        return None

    def by_api_key(self, api_key: str) -> Account | None:
        """Return the account of an API key."""
        for account in self.accounts.values():
            if api_key and api_key == account.api_key:
                return account
        return None

    def _by_recipient(self, recipient: str) -> Account | None:
        if "@" in recipient:  # the provider compares e-mails in lower case
            email = recipient.lower()
            return next((a for a in self.accounts.values() if a.email == email), None)
        return next(
            (a for a in self.accounts.values() if a.public_key == recipient), None
        )

    # Blocks

    def current_block_id(self) -> int:
        """Return the block being worked on at the sandbox clock's time."""
        return self.block_at(self.clock.now_ms())

    def block_at(self, ts_ms: int) -> int:
        """Return the block that was open at unix time ``ts_ms`` (milliseconds)."""
        return self.first_block_id + (ts_ms - self.genesis_ms) // self.block_ms

    def block_start(self, block_id: int) -> int:
        """Return when block ``block_id`` opened, in unix milliseconds."""
        return self.genesis_ms + (block_id - self.first_block_id) * self.block_ms

    def seconds_to_next_block(self) -> int:
        """Return the whole seconds (at least 1) until the next block opens."""
        next_start = self.block_start(self.current_block_id() + 1)
        remaining = (next_start - self.clock.now_ms()) / 1000
        return max(1, math.ceil(remaining))

    def block(self, block_id: int) -> dict[str, Any]:
        """Return block ``block_id`` as ``getblock`` answers it."""
        current = self.current_block_id()
        if block_id < 1 or block_id > current:
            raise RefusalError(BLOCK_NOT_FOUND)
        block_hash = _block_hash(block_id)
        answer: dict[str, Any] = {
            "blockID": block_id,
            "blockReference": block_id // 1000,
            "difficulty": 5,
            "frequency": self.block_ms,
            "hash": block_hash,
            "mainChain": True,
            "nonce": str(int(block_hash[8:16], 16)),
            "open": block_id == current,
            "previousHash": _block_hash(block_id - 1),
            "server": SERVER_NAME,
            "startTime": self.block_start(block_id),
            "version": VERSION,
        }
        if inputs := self.block_inputs.get(block_id):
            answer["input"] = dict(inputs)
        return answer

    def _land(self, tid: str, block_input: dict[str, Any], ts_ms: int) -> None:
        """Put a transaction into the block that was open at ``ts_ms``."""
        block_id = self.block_at(ts_ms)
        self.block_inputs.setdefault(block_id, {})[tid] = block_input

    # Limits

    def count_request(self, api_key: str) -> None:
        """Count a request of ``api_key``, or refuse it beyond the rate limit."""
        recent = self.recent_requests.setdefault(api_key, deque())
        wait = wait_beyond_limit(
            recent, self.clock.now(), self.rate_limit, self.rate_window
        )
        if wait is not None:
            raise RefusalError(
                RATE_LIMITED.format(self.rate_limit, wait), status=429, retry_after=wait
            )

    def authenticate(self, api_key: str, level: int) -> Account:
        """Return the key's account, refusing unknown keys and missing access levels."""
        account = self.by_api_key(api_key)
        if account is None:
            raise RefusalError(KEY_NOT_RECOGNIZED, status=401)
        if account.access_level < level:
            raise RefusalError(
                NO_READ_ACCESS if level < 2 else NO_WRITE_ACCESS, status=400
            )
        return account

    def _lock(self, account: Account, action: str) -> None:
        """Refuse a write during the lock; otherwise lock the account till next block.

        As on the provider, the distribution account (uid 0) is never locked.
        """
        if account.uid == DISTRIBUTION_UID:
            return
        current = self.current_block_id()
        if current < account.locked_until_block:
            raise RefusalError(
                LOCKED.format(
                    action=action,
                    uid=account.uid,
                    seconds=self.seconds_to_next_block(),
                )
            )
        account.locked_until_block = current + 1

    def _limit_left(self, account: Account) -> Decimal:
        today = datetime.fromtimestamp(self.clock.now(), tz=UTC).date().isoformat()
        if account.spent_day != today:
            account.spent_day, account.spent_today = today, Decimal(0)
        limit = (
            account.daily_limit if account.daily_limit is not None else self.daily_limit
        )
        return limit - account.spent_today

    def _checked_value(self, account: Account, action: str, raw: str) -> Decimal:
        """Apply the provider's checks of an outgoing amount, in its order."""
        value = _parse_float(raw)
        if value is None or value == 0:
            raise RefusalError(NO_VALUE.format(action=action))
        if account.balance < value:
            raise RefusalError(INSUFFICIENT_FUNDS.format(action=action))
        left = self._limit_left(account)
        if left < value:
            raise RefusalError(LIMIT_REACHED.format(action=action, left=_text(left)))
        if value < MIN_AMOUNT:
            raise RefusalError(TOO_SMALL.format(action=action))
        return value

    # Endpoints

    def balance(self, account: Account, lookup: str) -> dict[str, Any]:
        """Return the main balance (lookup ``0``) or a site id's / sub id's."""
        if lookup == "0":
            return {
                "success": 1,
                "notification": BALANCE.format(_text(account.balance)),
                "balance": _number(account.balance),
            }
        if lookup not in account.lookups:
            raise RefusalError(UNKNOWN_LOOKUP)
        value = account.lookups[lookup]
        return {
            "success": 1,
            "notification": LOOKUP_BALANCE.format(lookup, _text(value)),
            "balance": _number(value),
        }

    def transfer(
        self, account: Account, recipient: str, amount: str, reference: str
    ) -> dict[str, Any]:
        """Move JSE to another account; both histories get an entry."""
        self._lock(account, "Transfer")
        receiver = self._by_recipient(recipient)
        if receiver is None:
            raise RefusalError(UNKNOWN_RECIPIENT)
        value = self._checked_value(account, "Transfer", amount)
        if receiver.uid == account.uid:
            raise RefusalError(OWN_ACCOUNT)
        cleaned = _REFERENCE_DROPPED.sub("", reference)[:MAX_REFERENCE_LENGTH]
        account.balance -= value
        account.spent_today += value
        receiver.balance += value
        self._record_transfer(account, receiver, value, cleaned, self.clock.now_ms())
        return {"success": 1, "notification": TRANSFER_CONFIRMED}

    def export(self, account: Account, amount: str) -> dict[str, Any]:
        """Turn JSE into a single-use coin code."""
        self._lock(account, "Export")
        value = self._checked_value(account, "Export", amount)
        coin_code = f"{self.rng.getrandbits(256):064x}"
        self.coin_codes[coin_code] = CoinCode(account.uid, value)
        account.balance -= value
        account.spent_today += value
        ts, tid, block_input = self._own_input(account, "export", value)
        self._land(tid, block_input, ts)
        # The exporter's own history keeps the code (as the platform's Export page).
        account.history[self._push_id(ts)] = {
            **block_input,
            "coinCode": coin_code,
            "tid": tid,
            "user1email": account.email,
        }
        return {"success": 1, "coinCode": coin_code, "notification": EXPORT_SUCCESSFUL}

    def _own_input(
        self, account: Account, command: str, value: Decimal
    ) -> tuple[int, str, dict[str, Any]]:
        """Return the time, id and block input of an export or import made now."""
        ts = self.clock.now_ms()
        block_input = {
            "command": command,
            "publicKey": account.public_key,
            "ts": ts,
            "user1": account.uid,
            "value": _number(value),
        }
        return ts, self._push_id(ts), block_input

    def import_code(self, account: Account, coin_code: str) -> dict[str, Any]:
        """Credit a coin code's value, once."""
        self._lock(account, "Import")
        coin = self.coin_codes.get(coin_code)
        if coin is None:
            raise RefusalError(COIN_CODE_UNKNOWN)
        if coin.used:
            raise RefusalError(COIN_CODE_USED)
        coin.used = True
        account.balance += coin.value
        ts, tid, block_input = self._own_input(account, "import", coin.value)
        self._land(tid, block_input, ts)
        account.history[self._push_id(ts)] = {
            **block_input,
            "coinCode": coin_code,
            "tid": tid,
        }
        return {"success": 1, "value": _text(coin.value)}

    def history(self, account: Account) -> dict[str, Any]:
        """Return the history object, or ``null`` when it is empty."""
        return {"success": 1, "history": dict(account.history) or None}

    def mine(self, account: Account, value: Decimal, ts: int | None = None) -> str:
        """Credit a mining reward: a block input, and a history entry when switched on."""
        ts = self.clock.now_ms() if ts is None else ts
        value = _rounded(value)
        tid = self._push_id(ts)
        entry = {
            "command": "mining",
            "ts": ts,
            "user1": account.uid,
            "value": _number(value),
        }
        self._land(tid, entry, ts)
        if self.mining_in_history:
            account.history[tid] = dict(entry)
        account.balance += value
        return tid

    # Helpers

    def _record_transfer(
        self,
        sender: Account,
        receiver: Account,
        value: Decimal,
        reference: str,
        ts: int,
    ) -> None:
        tid = self._push_id(ts)
        data = {
            "publicKey": sender.public_key,
            "toPublicKey": receiver.public_key,
            "user1": sender.uid,
            "user2": receiver.uid,
            "command": "transfer",
            "value": _number(value),
            "tid": tid,
            "ts": ts,
        }
        signature = hashlib.sha256(json.dumps(data).encode()).hexdigest()
        block_input = {
            "command": "transfer",
            "data": json.dumps(data, separators=(",", ":")),
            "host": "::",
            "publicKey": sender.public_key,
            "received": ts + 1,
            "signature": signature,
            "toPublicKey": receiver.public_key,
            "ts": ts,
            "user1": sender.uid,
            "user2": receiver.uid,
            "value": _number(value),
        }
        self._land(tid, block_input, ts)
        entry = {
            **block_input,
            "reference": reference,
            "tid": tid,
            "user1email": sender.email,
            "user2email": receiver.email,
        }
        receiver.history[self._push_id(ts)] = dict(entry)
        sender.history[self._push_id(ts)] = {**entry, "value": _number(-value)}

    def _seed_history(self, account: Account, data: dict[str, Any]) -> None:
        """Write the seed's past transactions; the seeded balances already hold them."""
        for item in data.get("history", []):
            ts = self.genesis_ms - round(float(item.get("seconds_ago", 0)) * 1000)
            value = _rounded(item["value"])
            if item["command"] == "transfer":
                receiver = self.find(str(item["to"]))
                if receiver is None:
                    raise ValueError(f"unknown transfer target {item['to']!r}")
                self._record_transfer(
                    account, receiver, value, str(item.get("reference", "")), ts
                )
            else:
                saved = account.balance
                self.mine(account, value, ts)
                account.balance = saved

    def _push_id(self, ts_ms: int) -> str:
        """Return a Firebase-style push id: time-ordered, then random."""
        time_part = ""
        for _ in range(8):
            time_part = _PUSH_CHARS[ts_ms % 64] + time_part
            ts_ms //= 64
        random_part = "".join(self.rng.choice(_PUSH_CHARS) for _ in range(12))
        return time_part + random_part


def _answer(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer JSON as the provider does: with a text/html content type."""
    return web.Response(
        text=json.dumps(body),
        status=status,
        headers=headers,
        content_type="text/html",
    )


def _rounded(value: Any) -> Decimal:
    """Return ``value`` rounded to the provider's 8 decimals."""
    try:
        return Decimal(str(value)).quantize(EIGHT_DECIMALS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


def _parse_float(raw: str) -> Decimal | None:
    """Read an amount like JavaScript's ``parseFloat``, rounded to 8 decimals."""
    match = _PARSE_FLOAT.match(raw)
    if match is None:
        return None
    try:
        return Decimal(match.group(1)).quantize(EIGHT_DECIMALS, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too large to hold 8 decimals: JavaScript's Infinity
        return None


def _number(value: Decimal) -> int | float:
    """Return an amount as a JSON number, as JavaScript would print it."""
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Decimal) -> str:
    """Return an amount as text without trailing zeros or exponent."""
    return f"{value.normalize():f}" if value else "0"


def _level(value: Any) -> int:
    level = int(value)
    if level not in {0, 1, 2}:
        raise ValueError("access level must be 0, 1 or 2")
    return level


def _block_hash(block_id: int) -> str:
    """Return a stable, difficulty-looking hash for a block."""
    digest = hashlib.sha256(f"{SERVER_NAME}:{block_id}".encode()).hexdigest()
    return "00000" + digest[5:]


# An endpoint's work, given the account and the path's variables.
type Operation = Callable[[JSEcoinState, Account, Mapping[str, str]], dict[str, Any]]


def _handler(
    state: JSEcoinState, level: int, operation: Operation
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        state.seen_paths.append(request.raw_path)
        api_key = request.headers.get("Authorization") or request.match_info["key"]
        try:
            state.count_request(api_key)
            account = state.authenticate(api_key, level)
            answer = operation(state, account, request.match_info)
        except RefusalError as refusal:
            return refusal.response()
        return _answer(answer)

    return handle


def _get_block(
    state: JSEcoinState, account: Account, match: Mapping[str, str]
) -> dict[str, Any]:
    number = _parse_float(match["block"])
    if number is None or number != number.to_integral_value():
        raise RefusalError(BLOCK_NOT_FOUND)
    return {"success": 1, "block": state.block(int(number))}


# path -> (access level needed, operation); the key's segment is {key}.
ENDPOINTS: Final[dict[str, tuple[int, Operation]]] = {
    "/balance/{key}/{lookup}/": (1, lambda s, a, m: s.balance(a, m["lookup"])),
    "/transfer/{key}/{recipient}/{amount}/{reference}/": (
        2,
        lambda s, a, m: s.transfer(a, m["recipient"], m["amount"], m["reference"]),
    ),
    "/export/{key}/{amount}/": (2, lambda s, a, m: s.export(a, m["amount"])),
    "/import/{key}/{coin_code}/": (2, lambda s, a, m: s.import_code(a, m["coin_code"])),
    "/history/{key}/": (1, lambda s, a, _m: s.history(a)),
    "/currentblockid/{key}/": (
        1,
        lambda s, _a, _m: {"success": 1, "blockID": str(s.current_block_id())},
    ),
    "/getblock/{block}/{key}/": (1, _get_block),
}


def create_apps(context: SandboxContext) -> tuple[web.Application, web.Application]:
    """Return the API app (mounted at ``/jsecoin/server/api``) and its admin app."""
    state = JSEcoinState(context)
    api = web.Application()
    for path, (level, operation) in ENDPOINTS.items():
        api.router.add_get(path, _handler(state, level, operation))

    async def unknown_call(request: web.Request) -> web.Response:
        state.seen_paths.append(request.raw_path)
        return RefusalError(UNKNOWN_CALL, status=404).response()

    api.router.add_route("*", "/{tail:.*}", unknown_call)
    return api, _admin_app(state)


def _admin_app(state: JSEcoinState) -> web.Application:
    """Routes tests and the demo use to look at and steer the provider."""
    admin = web.Application()
    routes = web.RouteTableDef()

    @routes.get("/accounts")
    async def list_accounts(request: web.Request) -> web.Response:
        return web.json_response([a.as_dict() for a in state.accounts.values()])

    @routes.post("/accounts")
    async def create_account(request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            account = state.add_account(body)
        except (ValueError, TypeError) as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return web.json_response(account.as_dict(), status=201)

    @routes.get("/accounts/{account}")
    async def show_account(request: web.Request) -> web.Response:
        return web.json_response(_account_or_404(state, request).as_dict())

    @routes.get("/accounts/{account}/history")
    async def show_history(request: web.Request) -> web.Response:
        return web.json_response(_account_or_404(state, request).history)

    @routes.post("/accounts/{account}/mine")
    async def mine(request: web.Request) -> web.Response:
        """Credit a mining reward ``{"value": …}``: the history and a block grow."""
        account = _account_or_404(state, request)
        value = _admin_amount((await json_object(request)).get("value"))
        tid = state.mine(account, value)
        return web.json_response({"tid": tid, **account.as_dict()})

    @routes.post("/accounts/{account}/access_level")
    async def set_access_level(request: web.Request) -> web.Response:
        account = _account_or_404(state, request)
        try:
            account.access_level = _level((await json_object(request)).get("level"))
        except (ValueError, TypeError) as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return web.json_response(account.as_dict())

    @routes.post("/accounts/{account}/balance")
    async def set_balance(request: web.Request) -> web.Response:
        """Set ``{"lookup", "value"}``: a site id's or sub id's balance (``0``: main)."""
        account = _account_or_404(state, request)
        body = await json_object(request)
        lookup = str(body.get("lookup", "0"))
        value = _admin_amount(body.get("value"), allow_zero=True)
        if lookup == "0":
            account.balance = value
        else:
            account.lookups[lookup] = value
        return web.json_response(account.as_dict())

    @routes.post("/accounts/{account}/daily_limit")
    async def set_daily_limit(request: web.Request) -> web.Response:
        account = _account_or_404(state, request)
        value = (await json_object(request)).get("value")
        account.daily_limit = (
            None if value is None else _admin_amount(value, allow_zero=True)
        )
        return web.json_response(account.as_dict())

    @routes.post("/accounts/{account}/unlock")
    async def unlock(request: web.Request) -> web.Response:
        account = _account_or_404(state, request)
        account.locked_until_block = 0
        return web.json_response(account.as_dict())

    @routes.post("/mining_in_history")
    async def set_mining_in_history(request: web.Request) -> web.Response:
        """Switch ``{"enabled": bool}`` whether mining rewards enter the history."""
        enabled = (await json_object(request)).get("enabled")
        if not isinstance(enabled, bool):
            raise web.HTTPBadRequest(text="enabled must be true or false")
        state.mining_in_history = enabled
        return web.json_response({"mining_in_history": enabled})

    @routes.get("/blocks")
    async def chain(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "current_block_id": state.current_block_id(),
                "block_seconds": state.block_seconds,
                "seconds_to_next_block": state.seconds_to_next_block(),
            }
        )

    @routes.get("/paths")
    async def seen_paths(request: web.Request) -> web.Response:
        return web.json_response(list(state.seen_paths))

    @routes.delete("/paths")
    async def forget_paths(request: web.Request) -> web.Response:
        state.seen_paths.clear()
        return web.json_response([])

    admin.add_routes(routes)
    return admin


def _account_or_404(state: JSEcoinState, request: web.Request) -> Account:
    account = state.find(request.match_info["account"])
    if account is None:
        raise web.HTTPNotFound(text="unknown account")
    return account


def _admin_amount(value: Any, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = _rounded(value)
    except ValueError:
        raise web.HTTPBadRequest(text="value must be an amount") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        raise web.HTTPBadRequest(text="value must be a positive amount")
    return amount
