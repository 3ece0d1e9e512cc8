"""The JSEcoin client against the sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from decimal import Decimal
import json
from pathlib import Path
import re
import socket
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.coinhub.api.exceptions import (
    AccessLevelError,
    AccountLockedError,
    AuthenticationError,
    CannotConnectError,
    InvalidInputError,
    OutcomeUnknownError,
    ProviderRefusedError,
    RateLimitedError,
)
from custom_components.coinhub.api.jsecoin import (
    RATE_LIMIT_REQUESTS,
    History,
    JSEcoinClient,
    RequestBudget,
    client as jsecoin_client,
    format_amount,
)
from sandbox import jsecoin as provider
from sandbox.faults import JSECOIN_GETBLOCK_LIMIT_BODY
from tests.conftest import Sandbox

SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "jsecoin.json").read_text()
)
ACCOUNTS = {account["name"]: account for account in SEED["accounts"]}
ALICE_KEY = ACCOUNTS["alice"]["api_key"]  # level 2, uid 123
BOB_KEY = ACCOUNTS["bob"]["api_key"]  # level 2, uid 2895
CAROL_KEY = ACCOUNTS["carol"]["api_key"]  # level 1: read only
DAVE_KEY = ACCOUNTS["dave"]["api_key"]  # level 0: API off
BOB_EMAIL = ACCOUNTS["bob"]["email"]
BOB_PUBLIC_KEY = ACCOUNTS["bob"]["public_key"]
ALL_KEYS = [account["api_key"] for account in SEED["accounts"]]


@pytest.fixture
async def session() -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


class Admin:
    """The sandbox's admin API, as the tests use it."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.url = sandbox.url / "_admin"

    async def account(self, name: str) -> dict[str, Any]:
        async with self.session.get(self.url / "jsecoin" / "accounts" / name) as resp:
            assert resp.status == 200
            result: dict[str, Any] = await resp.json()
            return result

    async def balance(self, name: str) -> Decimal:
        return Decimal((await self.account(name))["balance"])

    async def history(self, name: str) -> dict[str, Any]:
        async with self.session.get(
            self.url / "jsecoin" / "accounts" / name / "history"
        ) as resp:
            result: dict[str, Any] = await resp.json()
            return result

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.url / "jsecoin" / path, json=body) as resp:
            assert resp.status in {200, 201}, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    async def fault(self, **rule: Any) -> None:
        async with self.session.post(
            self.url / "faults", json={"provider": "jsecoin", **rule}
        ) as resp:
            assert resp.status == 201

    async def seen_paths(self) -> list[str]:
        async with self.session.get(self.url / "jsecoin" / "paths") as resp:
            result: list[str] = await resp.json()
            return result


@pytest.fixture
def admin(sandbox: Sandbox, session: ClientSession) -> Admin:
    return Admin(sandbox, session)


def make_client(
    sandbox: Sandbox, session: ClientSession, api_key: str = ALICE_KEY, **kwargs: Any
) -> JSEcoinClient:
    # A fresh budget per test: the shared per-key budget would span the whole run.
    kwargs.setdefault("budget", RequestBudget())
    kwargs.setdefault("request_timeout", 5)
    return JSEcoinClient(
        session, api_key, base_url=sandbox.base_url("jsecoin"), **kwargs
    )


@pytest.fixture
def client(sandbox: Sandbox, session: ClientSession) -> JSEcoinClient:
    return make_client(sandbox, session)


class ClockSleep:
    """Waits by moving the sandbox clock instead of sleeping."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sandbox.context.clock.advance(seconds)


# Reads


async def test_main_balance_and_lookups(client: JSEcoinClient) -> None:
    main = await client.balance()
    assert main.balance == Decimal(ACCOUNTS["alice"]["balance"])
    assert main.notification == "Your balance is 250.5 JSE"
    site = await client.balance("mysite.com")
    assert site.balance == Decimal("12.5")
    sub = await client.balance("visitor_42")
    assert sub.balance == Decimal("0.125")


async def test_unknown_lookup_is_refused(client: JSEcoinClient) -> None:
    with pytest.raises(ProviderRefusedError) as refused:
        await client.balance("unknown.example")
    assert refused.value.notification == provider.UNKNOWN_LOOKUP


async def test_history_of_the_seeded_account(client: JSEcoinClient) -> None:
    history = await client.history()
    assert history.account_user_id == 123
    assert [entry.command for entry in history.entries] == [
        "mining",
        "transfer",
        "mining",
    ]
    timestamps = [entry.timestamp for entry in history.entries]
    assert timestamps == sorted(timestamps)
    payment = history.entries[1]
    assert payment.value == Decimal("-1.5")
    assert payment.counterparty_email == BOB_EMAIL
    assert payment.reference == "seeded-payment"


async def test_long_history_is_decoded_and_parsed_off_the_event_loop(
    client: JSEcoinClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await client.history()
    monkeypatch.setattr(jsecoin_client, "THREAD_PARSE_ENTRIES", 1)
    monkeypatch.setattr(jsecoin_client, "THREAD_DECODE_BYTES", 10)
    threaded: list[str] = []
    real_to_thread = asyncio.to_thread

    async def spy(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        threaded.append(func.__name__)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(jsecoin_client.asyncio, "to_thread", spy)
    assert await client.history() == expected
    assert threaded == ["_decode_long", "from_api"]


async def test_empty_history_is_null(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    created = await admin.post(
        "accounts", {"name": "erin", "access_level": 1, "balance": "3"}
    )
    client = make_client(sandbox, session, created["api_key"])
    assert await client.history() == History(entries=(), account_user_id=None)


async def test_current_block_follows_the_clock(
    sandbox: Sandbox, client: JSEcoinClient
) -> None:
    first = await client.current_block_id()
    assert first == SEED["first_block_id"]
    sandbox.context.clock.advance(SEED["block_seconds"] * 3)
    assert await client.current_block_id() == first + 3


async def test_block_holds_the_transactions_that_landed_in_it(
    sandbox: Sandbox, client: JSEcoinClient
) -> None:
    await client.transfer(BOB_EMAIL, Decimal("0.5"), "into-the-block")
    block_id = await client.current_block_id()
    block = await client.block(block_id)
    assert block.block_id == block_id
    assert block.open is True
    assert [(i.command, i.value, i.user1, i.user2) for i in block.inputs] == [
        ("transfer", Decimal("0.5"), 123, 2895)
    ]
    sandbox.context.clock.advance(SEED["block_seconds"])
    closed = await client.block(block_id)
    assert closed.open is False
    assert closed.hash == block.hash
    following = await client.block(block_id + 1)
    assert following.previous_hash == block.hash
    assert following.inputs == ()


async def test_future_block_is_refused(client: JSEcoinClient) -> None:
    current = await client.current_block_id()
    with pytest.raises(ProviderRefusedError, match=provider.BLOCK_NOT_FOUND):
        await client.block(current + 1)


# Writes


async def test_transfer_by_email_moves_balances_and_writes_both_histories(
    client: JSEcoinClient, admin: Admin
) -> None:
    bob_before = await admin.balance("bob")
    result = await client.transfer(BOB_EMAIL, Decimal("2.25"), "invoice-42")
    assert result.notification == provider.TRANSFER_CONFIRMED
    assert await admin.balance("alice") == Decimal("248.25")
    assert await admin.balance("bob") == bob_before + Decimal("2.25")
    sent = (await client.history()).entries[-1]
    assert (sent.command, sent.value, sent.reference) == (
        "transfer",
        Decimal("-2.25"),
        "invoice-42",
    )
    assert sent.counterparty_public_key == BOB_PUBLIC_KEY
    received = [
        entry
        for entry in (await admin.history("bob")).values()
        if entry.get("reference") == "invoice-42"
    ]
    assert len(received) == 1
    assert received[0]["value"] == 2.25


async def test_transfer_by_public_key(client: JSEcoinClient, admin: Admin) -> None:
    await client.transfer(BOB_PUBLIC_KEY, Decimal("0.000001"), "tiny")
    assert await admin.balance("alice") == Decimal("250.499999")


@pytest.mark.parametrize(
    ("recipient", "amount", "notification"),
    [
        (
            BOB_EMAIL,
            Decimal(1000),
            provider.INSUFFICIENT_FUNDS.format(action="Transfer"),
        ),
        ("nobody@example.com", Decimal(1), provider.UNKNOWN_RECIPIENT),
        (ACCOUNTS["alice"]["email"], Decimal(1), provider.OWN_ACCOUNT),
    ],
)
async def test_transfer_refusals_move_nothing(
    client: JSEcoinClient,
    admin: Admin,
    recipient: str,
    amount: Decimal,
    notification: str,
) -> None:
    with pytest.raises(ProviderRefusedError) as refused:
        await client.transfer(recipient, amount, "refused")
    assert refused.value.notification == notification
    assert await admin.balance("alice") == Decimal("250.5")


async def test_daily_limit(client: JSEcoinClient, admin: Admin) -> None:
    await admin.post("accounts/alice/daily_limit", {"value": "1.5"})
    with pytest.raises(
        ProviderRefusedError, match=re.escape("remaining transaction limit, 1.5 JSE")
    ):
        await client.transfer(BOB_EMAIL, Decimal(2), "over-the-limit")
    assert await admin.balance("alice") == Decimal("250.5")


async def test_export_then_import_once(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    sleep = ClockSleep(sandbox)
    alice = make_client(sandbox, session, sleep=sleep)
    bob = make_client(sandbox, session, BOB_KEY, sleep=sleep)
    exported = await alice.export_coins(Decimal("3.5"))
    assert exported.notification == provider.EXPORT_SUCCESSFUL
    assert exported.coin_code not in repr(exported)
    assert await admin.balance("alice") == Decimal(247)
    imported = await bob.import_coins(exported.coin_code)
    assert imported.value == Decimal("3.5")
    assert await admin.balance("bob") == Decimal("13.5")
    with pytest.raises(ProviderRefusedError) as used:
        await bob.import_coins(exported.coin_code)  # waits out bob's lock first
    assert used.value.notification == provider.COIN_CODE_USED
    assert exported.coin_code not in str(used.value)
    assert await admin.balance("bob") == Decimal("13.5")
    assert len(sleep.waits) == 1
    commands = [entry.command for entry in (await bob.history()).entries]
    assert commands.count("import") == 1


async def test_unknown_coin_code_is_refused(client: JSEcoinClient) -> None:
    with pytest.raises(ProviderRefusedError, match=provider.COIN_CODE_UNKNOWN):
        await client.import_coins("deadbeef" * 8)


# Locks


async def test_lock_is_waited_out_and_the_write_sent_again(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    sleep = ClockSleep(sandbox)
    client = make_client(sandbox, session, sleep=sleep)
    await client.transfer(BOB_EMAIL, Decimal(1), "first")
    await client.transfer(BOB_EMAIL, Decimal(1), "second")
    assert len(sleep.waits) == 1
    assert 0 < sleep.waits[0] <= SEED["block_seconds"]
    assert await admin.balance("alice") == Decimal("248.5")
    references = [entry.reference for entry in (await client.history()).entries]
    assert references[-2:] == ["first", "second"]


@pytest.mark.parametrize("sandbox_seed", [{"jsecoin": {**SEED, "block_seconds": 2}}])
async def test_short_blocks_short_locks(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    sleep = ClockSleep(sandbox)
    client = make_client(sandbox, session, sleep=sleep, lock_wait_limit=2)
    await client.export_coins(Decimal(1))
    await client.export_coins(Decimal(1))
    assert sleep.waits in ([1.0], [2.0])
    assert await admin.balance("alice") == Decimal("248.5")


async def test_lock_longer_than_the_limit_is_raised(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    sleep = ClockSleep(sandbox)
    client = make_client(sandbox, session, sleep=sleep, lock_wait_limit=0.5)
    await client.transfer(BOB_EMAIL, Decimal(1), "first")
    with pytest.raises(AccountLockedError) as locked:
        await client.transfer(BOB_EMAIL, Decimal(1), "second")
    assert 0 < locked.value.retry_after <= SEED["block_seconds"]
    assert "locked pending recent transaction" in locked.value.notification
    assert sleep.waits == []
    assert await admin.balance("alice") == Decimal("249.5")


# Credentials and access levels


async def test_unknown_key_is_refused(sandbox: Sandbox, session: ClientSession) -> None:
    client = make_client(sandbox, session, "sandbox-jse-nobody")
    with pytest.raises(AuthenticationError) as refused:
        await client.balance()
    assert not isinstance(refused.value, AccessLevelError)
    assert "sandbox-jse-nobody" not in str(refused.value)


async def test_read_only_key_cannot_write(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    client = make_client(sandbox, session, CAROL_KEY)
    assert (await client.balance()).balance == Decimal(42)
    with pytest.raises(AccessLevelError) as refused:
        await client.transfer(BOB_EMAIL, Decimal(1), "not-allowed")
    assert refused.value.required_level == 2
    assert await admin.balance("carol") == Decimal(42)


async def test_switched_off_key_cannot_read(
    sandbox: Sandbox, session: ClientSession
) -> None:
    client = make_client(sandbox, session, DAVE_KEY)
    with pytest.raises(AccessLevelError) as refused:
        await client.history()
    assert refused.value.required_level == 1


# Secrets and URLs


async def test_key_never_enters_a_url(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    refusals: list[str] = []
    for key in ALL_KEYS:
        client = make_client(sandbox, session, key)
        assert key not in repr(client)
        for call in (
            client.balance(),
            client.history(),
            client.current_block_id(),
            client.export_coins(Decimal("0.1")),
        ):
            try:
                await call
            except AuthenticationError as err:  # dave and carol lack access levels
                refusals.append(str(err))
    assert len(refusals) == 5
    assert not [text for text in refusals for key in ALL_KEYS if key in text]
    paths = await admin.seen_paths()
    assert len(paths) == 4 * len(ALL_KEYS)
    assert all("/auth/" in path for path in paths)
    assert not [path for path in paths for key in ALL_KEYS if key in path]


@pytest.mark.parametrize(
    "lookup",
    [
        "../../transfer/bob@example.com/1/x",
        "..",
        ".",
        "a/b",
        "a%2Fb",
        "%2e%2e",
        "a?b",
        "a#b",
        "a b",
        "a\tb",
        "a\nb",
        "a\x00b",
        "a\x7fb",
        "",
        "a\\b",
        "é.example",
        "x" * 256,
    ],
)
async def test_unsafe_lookup_never_reaches_the_provider(
    sandbox: Sandbox, client: JSEcoinClient, lookup: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await client.balance(lookup)
    assert refused.value.field == "lookup"
    assert sandbox.request_count("jsecoin") == 0


@pytest.mark.parametrize(
    ("recipient", "reference"),
    [
        ("", "x"),
        ("../export/auth/1", "x"),
        ("bob@example.com/..", "x"),
        ("bob%40example.com", "x"),
        ("bob @example.com", "x"),
        ("not-an-address", "x"),
        ("04abc", "x"),
        ("g" * 130, "x"),
        (BOB_EMAIL, "a/b"),
        (BOB_EMAIL, ".."),
        (BOB_EMAIL, "a%2F"),
        (BOB_EMAIL, "two words"),
        (BOB_EMAIL, "line\nbreak"),
        (BOB_EMAIL, "why?"),
        (BOB_EMAIL, "hash#tag"),
        (BOB_EMAIL, ""),
        (BOB_EMAIL, "x" * 256),
    ],
)
async def test_unsafe_transfer_never_reaches_the_provider(
    sandbox: Sandbox, client: JSEcoinClient, recipient: str, reference: str
) -> None:
    with pytest.raises(InvalidInputError):
        await client.transfer(recipient, Decimal(1), reference)
    assert sandbox.request_count("jsecoin") == 0


@pytest.mark.parametrize(
    "coin_code", ["", "../transfer", "a%2Fb", "a b", "a?b", "c" * 256, "code'"]
)
async def test_unsafe_coin_code_is_refused_without_echoing_it(
    sandbox: Sandbox, client: JSEcoinClient, coin_code: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await client.import_coins(coin_code)
    assert coin_code not in str(refused.value) or not coin_code
    assert sandbox.request_count("jsecoin") == 0


@pytest.mark.parametrize("number", [-1, True, 1.5, "7"])
async def test_invalid_block_number(
    sandbox: Sandbox, client: JSEcoinClient, number: Any
) -> None:
    with pytest.raises(InvalidInputError):
        await client.block(number)
    assert sandbox.request_count("jsecoin") == 0


@pytest.mark.parametrize(
    "amount",
    [
        Decimal(0),
        Decimal(-1),
        Decimal("0.0000009"),
        Decimal("1.000000001"),
        Decimal("NaN"),
        Decimal("Infinity"),
        float("inf"),
        "1/2",
        "lots",
        True,
        None,
    ],
)
async def test_invalid_amounts_are_refused_before_sending(
    sandbox: Sandbox, client: JSEcoinClient, amount: Any
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await client.export_coins(amount)
    assert refused.value.field == "amount"
    assert sandbox.request_count("jsecoin") == 0


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("0.00000100"), "0.000001"),
        (Decimal("12.34567891"), "12.34567891"),
        (0.1, "0.1"),
        (3, "3"),
        ("2.50", "2.5"),
    ],
)
def test_amounts_are_written_without_exponent(amount: Any, text: str) -> None:
    assert format_amount(amount) == text


@pytest.mark.parametrize("api_key", ["", "key with space", "key\r\nX-Evil: 1"])
def test_unusable_api_key_is_refused_without_echoing_it(api_key: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        JSEcoinClient(None, api_key)  # type: ignore[arg-type]
    assert refused.value.field == "api_key"
    assert not api_key or api_key not in str(refused.value)


# Side effects at most once


async def test_transfer_whose_answer_is_lost_is_applied_once(
    sandbox: Sandbox, client: JSEcoinClient, admin: Admin
) -> None:
    await client.balance()  # a keep-alive connection aiohttp would like to reuse
    await admin.fault(kind="drop_after_apply", path="/transfer/", count=1)
    with pytest.raises(OutcomeUnknownError) as unknown:
        await client.transfer(BOB_EMAIL, Decimal(5), "maybe")
    assert ALICE_KEY not in str(unknown.value)
    assert await admin.balance("alice") == Decimal("245.5")  # moved exactly once
    sent = [
        entry
        for entry in (await client.history()).entries
        if entry.reference == "maybe"
    ]
    assert len(sent) == 1


async def test_without_refuse_resend_aiohttp_applies_the_write_twice(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    # The distribution account (uid 0) is never locked, so nothing stops a re-send.
    created = await admin.post(
        "accounts",
        {"uid": 0, "name": "distribution", "access_level": 2, "balance": "100"},
    )
    base = sandbox.base_url("jsecoin")
    headers = {"Authorization": created["api_key"]}
    # A keep-alive connection, as a session that polled the balance holds.
    async with session.get(f"{base}/balance/auth/0/", headers=headers) as warm:
        assert warm.status == 200
    url = f"{base}/transfer/auth/{BOB_EMAIL}/1/plain-get/"
    bob_before = await admin.balance("bob")
    await admin.fault(kind="drop_after_apply", path="/transfer/", count=1)
    async with session.get(url, headers=headers) as resp:  # no refuse_resend
        assert resp.status == 200  # aiohttp re-sent it silently
    assert await admin.balance("distribution") == Decimal(98)
    assert await admin.balance("bob") == bob_before + 2

    # The client, on the same kind of connection, sends it once.
    client = make_client(sandbox, session, created["api_key"])
    await client.balance()
    await admin.fault(kind="drop_after_apply", path="/transfer/", count=1)
    with pytest.raises(OutcomeUnknownError):
        await client.transfer(BOB_EMAIL, Decimal(1), "client")
    assert await admin.balance("distribution") == Decimal(97)


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_broken_answers(client: JSEcoinClient, admin: Admin, kind: str) -> None:
    await admin.fault(kind=kind, path="/balance/", count=1)
    with pytest.raises(CannotConnectError):
        await client.balance()
    await admin.fault(kind=kind, path="/export/", count=1)
    with pytest.raises(OutcomeUnknownError):
        await client.export_coins(Decimal(1))
    assert await admin.balance("alice") == Decimal("249.5")  # it was applied


async def test_server_errors(client: JSEcoinClient, admin: Admin) -> None:
    await admin.fault(kind="status", status=503, path="/history/", count=1)
    with pytest.raises(CannotConnectError, match="HTTP 503"):
        await client.history()
    await admin.fault(kind="status", status=502, path="/transfer/", count=1)
    with pytest.raises(OutcomeUnknownError, match="HTTP 502"):
        await client.transfer(BOB_EMAIL, Decimal(1), "gateway")
    await admin.fault(
        kind="status", status=404, body="Not Found", path="/export/", count=1
    )
    with pytest.raises(CannotConnectError, match="HTTP 404"):
        await client.export_coins(Decimal(1))
    await admin.fault(kind="status", status=302, body="", path="/export/", count=1)
    with pytest.raises(CannotConnectError, match="redirected"):
        await client.export_coins(Decimal(1))
    assert await admin.balance("alice") == Decimal("250.5")


async def test_success_without_its_fields(client: JSEcoinClient, admin: Admin) -> None:
    await admin.fault(
        kind="status", status=200, body='{"ok": true}', path="/currentblockid/", count=1
    )
    with pytest.raises(CannotConnectError):
        await client.current_block_id()
    await admin.fault(
        kind="status", status=200, body='{"success": 1}', path="/export/", count=1
    )
    with pytest.raises(OutcomeUnknownError, match="incomplete"):
        await client.export_coins(Decimal(1))
    await admin.fault(kind="status", status=200, body="[]", path="/import/", count=1)
    with pytest.raises(OutcomeUnknownError, match="unreadable"):
        await client.import_coins("c0de")


async def test_dropped_before_the_provider(client: JSEcoinClient, admin: Admin) -> None:
    await admin.fault(kind="drop_before", path="/balance/", count=2)
    with pytest.raises(CannotConnectError):
        await client.balance()
    await admin.fault(kind="drop_before", path="/transfer/", count=1)
    with pytest.raises(
        OutcomeUnknownError
    ):  # the client cannot know it was not applied
        await client.transfer(BOB_EMAIL, Decimal(1), "dropped")
    assert await admin.balance("alice") == Decimal("250.5")


async def test_timeouts(sandbox: Sandbox, session: ClientSession, admin: Admin) -> None:
    client = make_client(sandbox, session, request_timeout=0.2)
    await admin.fault(kind="latency", seconds=0.5, count=2)
    with pytest.raises(CannotConnectError, match="TimeoutError"):
        await client.balance()
    with pytest.raises(OutcomeUnknownError, match="it may have been applied"):
        await client.export_coins(Decimal(1))


async def test_no_server(session: ClientSession, socket_enabled: None) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = JSEcoinClient(
        session,
        ALICE_KEY,
        base_url=f"http://127.0.0.1:{port}/server/api",
        budget=RequestBudget(),
    )
    with pytest.raises(CannotConnectError):
        await client.balance()
    with pytest.raises(CannotConnectError):  # nothing was sent: not "unknown"
        await client.transfer(BOB_EMAIL, Decimal(1), "nowhere")


# Rate limits


async def test_budget_exhaustion_sends_nothing(
    sandbox: Sandbox, session: ClientSession
) -> None:
    budget = RequestBudget(requests=2, window=900)
    client = make_client(sandbox, session, budget=budget)
    await client.balance()
    await client.current_block_id()
    assert budget.remaining == 0
    with pytest.raises(RateLimitedError) as limited:
        await client.history()
    assert limited.value.retry_after is not None
    assert 0 < limited.value.retry_after <= 900
    assert sandbox.request_count("jsecoin") == 2


def test_budget_window_slides() -> None:
    now = [1000.0]
    budget = RequestBudget(requests=2, window=10, clock=lambda: now[0])
    budget.acquire()
    now[0] += 4
    budget.acquire()
    with pytest.raises(RateLimitedError) as limited:
        budget.acquire()
    assert limited.value.retry_after == 6
    now[0] += 6
    budget.acquire()  # the first request left the window
    assert "remaining=0" in repr(budget)
    with pytest.raises(ValueError, match="at least one request"):
        RequestBudget(requests=0)


def test_a_client_draws_on_the_budget_it_is_given() -> None:
    shared = RequestBudget()
    first = JSEcoinClient(None, "sandbox-jse-shared-key", budget=shared)  # type: ignore[arg-type]
    second = JSEcoinClient(None, "sandbox-jse-shared-key", budget=shared)  # type: ignore[arg-type]
    alone = JSEcoinClient(None, "sandbox-jse-shared-key")  # type: ignore[arg-type]
    assert first.budget is shared
    assert second.budget is shared
    assert alone.budget is not shared  # no hidden registry: a fresh budget
    assert alone.budget.remaining == RATE_LIMIT_REQUESTS


def test_budget_follows_a_replaced_monotonic_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a clock of its own, the budget reads time.monotonic at each call."""
    now = [5000.0]
    monkeypatch.setattr(jsecoin_client.time, "monotonic", lambda: now[0])
    budget = RequestBudget(requests=1, window=10)
    budget.acquire()
    with pytest.raises(RateLimitedError):
        budget.acquire()
    now[0] += 10
    budget.acquire()


@pytest.mark.parametrize(
    "sandbox_seed",
    [{"jsecoin": {**SEED, "rate_limit": {"requests": 2, "window": 900}}}],
)
async def test_provider_rate_limit(sandbox: Sandbox, session: ClientSession) -> None:
    client = make_client(sandbox, session)
    await client.balance()
    await client.balance()
    with pytest.raises(RateLimitedError) as limited:
        await client.balance()
    assert limited.value.retry_after == 900
    assert client.budget.remaining == 0
    sent = sandbox.request_count("jsecoin")
    with pytest.raises(RateLimitedError):  # the budget now holds back: nothing sent
        await client.balance()
    assert sandbox.request_count("jsecoin") == sent


async def test_getblock_limit_holds_getblock_only(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    """JSEcoin's per-key getblock limit is a rate limit of that call, for its window."""
    now = [1000.0]
    client = make_client(sandbox, session, budget=RequestBudget(clock=lambda: now[0]))
    first = await client.current_block_id()
    await admin.fault(
        kind="status",
        status=400,
        path="/getblock/",
        body=JSECOIN_GETBLOCK_LIMIT_BODY,
        count=1,
    )

    with pytest.raises(RateLimitedError) as limited:
        await client.block(first)
    assert limited.value.retry_after == 1800
    assert "getblock" in str(limited.value)
    now[0] += 1799
    with pytest.raises(RateLimitedError) as held:
        await client.block(first)  # nothing sent before the window ends
    assert held.value.retry_after == 1
    assert sandbox.request_count("jsecoin") == 2
    assert await client.current_block_id() >= first  # other calls go on

    now[0] += 1
    assert (await client.block(first)).block_id == first
