"""The JSEcoin sandbox itself: the provider's behaviour and the admin routes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import json
from pathlib import Path
import random
from typing import Any

from aiohttp import ClientSession
import pytest

from sandbox import SandboxContext, jsecoin as provider
from tests.conftest import Sandbox

SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "jsecoin.json").read_text()
)
ACCOUNTS = {account["name"]: account for account in SEED["accounts"]}
ALICE_KEY = ACCOUNTS["alice"]["api_key"]
BOB_KEY = ACCOUNTS["bob"]["api_key"]
CAROL_KEY = ACCOUNTS["carol"]["api_key"]
DAVE_KEY = ACCOUNTS["dave"]["api_key"]
BOB_EMAIL = ACCOUNTS["bob"]["email"]
DAY_SECONDS = 86_400


@pytest.fixture
async def session() -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


class Api:
    """Raw calls to the sandbox, so the tests see exactly what a client would."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.base = sandbox.base_url("jsecoin")
        self.admin = sandbox.url / "_admin" / "jsecoin"

    async def get(
        self, path: str, header_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": header_key} if header_key else {}
        async with self.session.get(f"{self.base}/{path}", headers=headers) as resp:
            assert resp.content_type == "text/html"  # as the provider does
            body: dict[str, Any] = json.loads(await resp.text())
            return resp.status, body

    async def admin_get(self, path: str) -> Any:
        async with self.session.get(self.admin / path) as resp:
            assert resp.status == 200
            return await resp.json()

    async def admin_post(
        self, path: str, body: Any = None, *, status: int = 200
    ) -> Any:
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        async with self.session.post(self.admin / path, **kwargs) as resp:
            assert resp.status == status, await resp.text()
            return await resp.json() if resp.status < 300 else await resp.text()

    async def balance(self, name: str) -> str:
        account = await self.admin_get(f"accounts/{name}")
        balance: str = account["balance"]
        return balance

    def next_block(self) -> None:
        self.sandbox.context.clock.advance(SEED["block_seconds"])

    def early_next_utc_day(self) -> None:
        """Move the clock to 01:00 UTC of the next day: a test's blocks stay in it."""
        clock = self.sandbox.context.clock
        clock.advance(DAY_SECONDS - clock.now() % DAY_SECONDS + 3600)


@pytest.fixture
def api(sandbox: Sandbox, session: ClientSession) -> Api:
    return Api(sandbox, session)


# Keys and access levels


async def test_key_in_path_or_in_header(api: Api) -> None:
    in_path = await api.get(f"balance/{ALICE_KEY}/0/")
    in_header = await api.get("balance/auth/0/", header_key=ALICE_KEY)
    any_placeholder = await api.get("balance/x/0/", header_key=ALICE_KEY)
    expected = {
        "success": 1,
        "notification": "Your balance is 250.5 JSE",
        "balance": 250.5,
    }
    assert in_path == in_header == any_placeholder == (200, expected)


async def test_header_wins_over_the_path(api: Api) -> None:
    status, body = await api.get(f"balance/{ALICE_KEY}/0/", header_key="wrong")
    assert (status, body["notification"]) == (401, provider.KEY_NOT_RECOGNIZED)


@pytest.mark.parametrize(
    ("key", "path", "status", "notification"),
    [
        ("unknown", "history/auth/", 401, provider.KEY_NOT_RECOGNIZED),
        (DAVE_KEY, "history/auth/", 400, provider.NO_READ_ACCESS),
        (DAVE_KEY, "currentblockid/auth/", 400, provider.NO_READ_ACCESS),
        (CAROL_KEY, "export/auth/1/", 400, provider.NO_WRITE_ACCESS),
        (CAROL_KEY, f"transfer/auth/{BOB_EMAIL}/1/x/", 400, provider.NO_WRITE_ACCESS),
        (CAROL_KEY, "import/auth/abc/", 400, provider.NO_WRITE_ACCESS),
    ],
)
async def test_key_refusals(
    api: Api, key: str, path: str, status: int, notification: str
) -> None:
    assert await api.get(path, header_key=key) == (
        status,
        {"fail": 1, "notification": notification},
    )
    assert await api.balance("carol") == "42"


async def test_access_level_can_change(api: Api) -> None:
    await api.admin_post("accounts/dave/access_level", {"level": 1})
    status, body = await api.get("balance/auth/0/", header_key=DAVE_KEY)
    assert (status, body["balance"]) == (200, 5)
    await api.admin_post("accounts/dave/access_level", {"level": 7}, status=400)
    await api.admin_post("accounts/dave/access_level", {}, status=400)


async def test_path_without_trailing_slash_is_a_generic_failure(api: Api) -> None:
    for path in ("balance/auth/0", "history/auth", "transfer/auth/a@b.c/1/x"):
        status, body = await api.get(path, header_key=ALICE_KEY)
        assert (status, body) == (
            404,
            {"fail": 1, "notification": provider.UNKNOWN_CALL},
        )
    assert await api.balance("alice") == "250.5"


@pytest.mark.parametrize(
    "sandbox_seed",
    [{"jsecoin": {**SEED, "rate_limit": {"requests": 3, "window": 60}}}],
)
async def test_rate_limit_per_key(api: Api, session: ClientSession) -> None:
    for _ in range(3):
        assert (await api.get("currentblockid/auth/", header_key=ALICE_KEY))[0] == 200
    async with session.get(
        f"{api.base}/currentblockid/auth/", headers={"Authorization": ALICE_KEY}
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "60"
        body = json.loads(await resp.text())
    assert body == {"fail": 1, "notification": provider.RATE_LIMITED.format(3, 60)}
    assert (await api.get("currentblockid/auth/", header_key=BOB_KEY))[0] == 200
    api.sandbox.context.clock.advance(60)
    assert (await api.get("currentblockid/auth/", header_key=ALICE_KEY))[0] == 200


# Balances, history and blocks


async def test_lookup_balances(api: Api) -> None:
    status, body = await api.get("balance/auth/blog.example.org/", header_key=ALICE_KEY)
    assert (status, body["balance"]) == (200, 3.25)
    assert body["notification"] == "The balance of blog.example.org is 3.25 JSE"
    assert await api.get("balance/auth/nope/", header_key=ALICE_KEY) == (
        200,
        {"fail": 1, "notification": provider.UNKNOWN_LOOKUP},
    )
    await api.admin_post("accounts/alice/balance", {"lookup": "nope", "value": "0.5"})
    assert (await api.get("balance/auth/nope/", header_key=ALICE_KEY))[1][
        "balance"
    ] == 0.5
    await api.admin_post("accounts/alice/balance", {"lookup": "0", "value": "7"})
    assert await api.balance("alice") == "7"
    await api.admin_post("accounts/alice/balance", {"value": "-1"}, status=400)
    await api.admin_post("accounts/alice/balance", {"value": "many"}, status=400)


async def test_history_is_keyed_by_transaction_id(api: Api) -> None:
    status, body = await api.get("history/auth/", header_key=ALICE_KEY)
    assert status == 200
    history = body["history"]
    assert list(history) == sorted(history)  # push ids sort by time
    sent = next(e for e in history.values() if e["command"] == "transfer")
    assert sent["value"] == -1.5
    assert (sent["user1"], sent["user2"]) == (123, 2895)
    assert (sent["user1email"], sent["user2email"]) == (
        ACCOUNTS["alice"]["email"],
        BOB_EMAIL,
    )
    assert json.loads(sent["data"])["tid"] == sent["tid"]
    bobs = (await api.get("history/auth/", header_key=BOB_KEY))[1]["history"]
    assert [e["value"] for e in bobs.values()] == [1.5]


async def test_empty_history_is_null(api: Api) -> None:
    created = await api.admin_post(
        "accounts", {"name": "erin", "access_level": 1}, status=201
    )
    assert await api.get("history/auth/", header_key=created["api_key"]) == (
        200,
        {"success": 1, "history": None},
    )


async def test_mining_grows_history_balance_and_block(api: Api) -> None:
    mined = await api.admin_post("accounts/bob/mine", {"value": "0.123456789"})
    assert mined["balance"] == "10.12345679"  # rounded to 8 decimals
    bobs = (await api.get("history/auth/", header_key=BOB_KEY))[1]["history"]
    entry = bobs[mined["tid"]]
    assert (entry["command"], entry["user1"], entry["value"]) == (
        "mining",
        2895,
        0.12345679,
    )
    assert entry["ts"] == api.sandbox.context.clock.now_ms() // 1000 * 1000 + (
        entry["ts"] % 1000
    )
    block_id = int(
        (await api.get("currentblockid/auth/", header_key=BOB_KEY))[1]["blockID"]
    )
    block = (await api.get(f"getblock/{block_id}/auth/", header_key=BOB_KEY))[1][
        "block"
    ]
    assert block["input"][mined["tid"]]["command"] == "mining"
    await api.admin_post("accounts/bob/mine", {"value": "0"}, status=400)
    await api.admin_post("accounts/bob/mine", [1], status=400)


async def test_mining_kept_out_of_the_history_when_switched_off(api: Api) -> None:
    switched = await api.admin_post("mining_in_history", {"enabled": False})
    assert switched == {"mining_in_history": False}
    mined = await api.admin_post("accounts/bob/mine", {"value": "0.5"})
    assert mined["balance"] == "10.5"
    status, body = await api.get("history/auth/", header_key=BOB_KEY)
    assert status == 200
    assert [e["command"] for e in body["history"].values()] == ["transfer"]  # seeded
    block_id = int(
        (await api.get("currentblockid/auth/", header_key=BOB_KEY))[1]["blockID"]
    )
    block = (await api.get(f"getblock/{block_id}/auth/", header_key=BOB_KEY))[1][
        "block"
    ]
    assert block["input"][mined["tid"]]["command"] == "mining"  # the block has it
    await api.admin_post("mining_in_history", {"enabled": "no"}, status=400)


async def test_mining_in_history_from_the_seed() -> None:
    seed = json.loads(json.dumps(SEED))
    seed["mining_in_history"] = False
    state = provider.JSEcoinState(SandboxContext(seed={"jsecoin": seed}))
    carol = state.find("carol")
    assert carol is not None
    assert carol.history == {}  # her seeded mining reward went to a block only
    assert state.block_inputs


async def test_current_block_id_is_a_string_and_advances(api: Api) -> None:
    status, body = await api.get("currentblockid/auth/", header_key=CAROL_KEY)
    assert (status, body) == (
        200,
        {"success": 1, "blockID": str(SEED["first_block_id"])},
    )
    api.sandbox.context.clock.advance(SEED["block_seconds"] * 2)
    chain = await api.admin_get("blocks")
    assert chain["current_block_id"] == SEED["first_block_id"] + 2
    assert 0 < chain["seconds_to_next_block"] <= SEED["block_seconds"]


async def test_getblock_puts_the_key_last(api: Api) -> None:
    first = SEED["first_block_id"]
    status, body = await api.get(f"getblock/{first}/{CAROL_KEY}/")
    assert status == 200
    block = body["block"]
    assert block["blockID"] == first
    assert block["open"] is True
    assert block["frequency"] == SEED["block_seconds"] * 1000
    assert "input" not in block  # nothing landed in it yet
    for missing in (str(first + 1), "0", "abc", "1.5"):
        assert await api.get(f"getblock/{missing}/auth/", header_key=CAROL_KEY) == (
            200,
            {"fail": 1, "notification": provider.BLOCK_NOT_FOUND},
        )


async def test_seeded_history_lands_in_past_blocks(api: Api) -> None:
    history = (await api.get("history/auth/", header_key=CAROL_KEY))[1]["history"]
    (tid, entry) = next(iter(history.items()))
    # Carol's seeded mining happened 600 s before the sandbox started.
    target = SEED["first_block_id"] - 600 // SEED["block_seconds"]
    block = (await api.get(f"getblock/{target}/auth/", header_key=CAROL_KEY))[1]
    assert block["block"]["input"][tid]["value"] == entry["value"]


# Transfers


async def test_transfer_moves_balances(api: Api) -> None:
    status, body = await api.get(
        f"transfer/auth/{BOB_EMAIL.upper()}/2.123456789/Thanks%20%3Cfor%3E%20it%21/",
        header_key=ALICE_KEY,
    )
    assert (status, body) == (
        200,
        {"success": 1, "notification": "Transfer Has Been Confirmed"},
    )
    assert await api.balance("alice") == "248.37654321"
    assert await api.balance("bob") == "12.12345679"
    history = (await api.get("history/auth/", header_key=BOB_KEY))[1]["history"]
    received = list(history.values())[-1]
    assert received["reference"] == "Thanks for it"  # cut to the whitelist
    assert received["value"] == 2.12345679
    alice = await api.admin_get("accounts/alice")
    assert alice["spent_today"] == "2.12345679"
    assert alice["locked_until_block"] == SEED["first_block_id"] + 1


async def test_transfer_to_a_public_key_and_a_long_reference(api: Api) -> None:
    reference = "r" * 300
    status, _ = await api.get(
        f"transfer/auth/{ACCOUNTS['bob']['public_key']}/1/{reference}/",
        header_key=ALICE_KEY,
    )
    assert status == 200
    history = (await api.get("history/auth/", header_key=ALICE_KEY))[1]["history"]
    assert list(history.values())[-1]["reference"] == "r" * 255


@pytest.mark.parametrize(
    ("recipient", "amount", "notification"),
    [
        ("nobody@example.com", "1", provider.UNKNOWN_RECIPIENT),
        (BOB_EMAIL, "abc", provider.NO_VALUE.format(action="Transfer")),
        (BOB_EMAIL, "0.000000001", provider.NO_VALUE.format(action="Transfer")),
        (BOB_EMAIL, "0.0000004", provider.TOO_SMALL.format(action="Transfer")),
        (BOB_EMAIL, "-5", provider.TOO_SMALL.format(action="Transfer")),
        (BOB_EMAIL, "1e999", provider.NO_VALUE.format(action="Transfer")),
        (BOB_EMAIL, "251", provider.INSUFFICIENT_FUNDS.format(action="Transfer")),
        (ACCOUNTS["alice"]["email"], "1", provider.OWN_ACCOUNT),
    ],
)
async def test_transfer_refusals(
    api: Api, recipient: str, amount: str, notification: str
) -> None:
    assert await api.get(
        f"transfer/auth/{recipient}/{amount}/x/", header_key=ALICE_KEY
    ) == (200, {"fail": 1, "notification": notification})
    assert await api.balance("alice") == "250.5"
    assert await api.balance("bob") == "10"


async def test_every_write_attempt_locks_until_the_next_block(api: Api) -> None:
    refused = await api.get(
        "transfer/auth/nobody@example.com/1/x/", header_key=ALICE_KEY
    )
    assert refused[1]["notification"] == provider.UNKNOWN_RECIPIENT
    api.sandbox.context.clock.advance(SEED["block_seconds"] - 10.5)
    status, body = await api.get("export/auth/1/", header_key=ALICE_KEY)
    assert (status, body["notification"]) == (
        200,
        provider.LOCKED.format(action="Export", uid=123, seconds=11),
    )
    assert await api.balance("alice") == "250.5"
    api.next_block()
    status, body = await api.get("export/auth/1/", header_key=ALICE_KEY)
    assert body["notification"] == provider.EXPORT_SUCCESSFUL
    locked = await api.get("import/auth/abc/", header_key=ALICE_KEY)
    assert "Import Failed: Account 123 locked" in locked[1]["notification"]
    await api.admin_post("accounts/alice/unlock")
    assert (await api.get("import/auth/abc/", header_key=ALICE_KEY))[1] == {
        "fail": 1,
        "notification": provider.COIN_CODE_UNKNOWN,
    }


async def test_daily_limit_resets_the_next_utc_day(api: Api) -> None:
    # Not from the wall clock's time of day: a run just before midnight would cross it.
    api.early_next_utc_day()
    await api.admin_post("accounts/alice/daily_limit", {"value": "3"})
    assert (await api.get("export/auth/2/", header_key=ALICE_KEY))[0] == 200
    api.next_block()
    assert await api.get("export/auth/2/", header_key=ALICE_KEY) == (
        200,
        {
            "fail": 1,
            "notification": provider.LIMIT_REACHED.format(action="Export", left="1"),
        },
    )
    api.sandbox.context.clock.advance(DAY_SECONDS)
    assert (await api.get("export/auth/2/", header_key=ALICE_KEY))[0] == 200
    reset = await api.admin_post("accounts/alice/daily_limit", {"value": None})
    assert reset["daily_limit"] is None


async def test_default_daily_limit_is_2000(api: Api) -> None:
    await api.admin_post("accounts/alice/balance", {"value": "5000"})
    assert await api.get("export/auth/2000.5/", header_key=ALICE_KEY) == (
        200,
        {
            "fail": 1,
            "notification": provider.LIMIT_REACHED.format(action="Export", left="2000"),
        },
    )


# Coin codes


async def test_coin_code_is_single_use(api: Api) -> None:
    status, exported = await api.get("export/auth/0.5/", header_key=ALICE_KEY)
    assert status == 200
    coin_code = exported["coinCode"]
    assert len(coin_code) == 64
    assert await api.balance("alice") == "250"
    assert await api.get(f"import/auth/{coin_code}/", header_key=BOB_KEY) == (
        200,
        {"success": 1, "value": "0.5"},  # a string, as the provider sends it
    )
    assert await api.balance("bob") == "10.5"
    api.next_block()
    assert await api.get(f"import/auth/{coin_code}/", header_key=BOB_KEY) == (
        200,
        {"fail": 1, "notification": "Transfer Failed: Coin Code Used"},
    )
    assert await api.balance("bob") == "10.5"
    alices = (await api.get("history/auth/", header_key=ALICE_KEY))[1]["history"]
    export_entry = list(alices.values())[-1]
    assert (export_entry["command"], export_entry["coinCode"]) == ("export", coin_code)
    block_id = int(
        (await api.get("currentblockid/auth/", header_key=BOB_KEY))[1]["blockID"]
    )
    previous = (await api.get(f"getblock/{block_id - 1}/auth/", header_key=BOB_KEY))[1]
    inputs = previous["block"]["input"].values()
    assert sorted(i["command"] for i in inputs) == ["export", "import"]
    assert all("coinCode" not in i for i in inputs)  # a block is public


# Admin


async def test_admin_lists_and_creates_accounts(api: Api) -> None:
    accounts = await api.admin_get("accounts")
    assert [(a["name"], a["access_level"]) for a in accounts] == [
        ("alice", 2),
        ("bob", 2),
        ("carol", 1),
        ("dave", 0),
    ]
    assert accounts[0]["lookups"] == {
        "mysite.com": "12.5",
        "blog.example.org": "3.25",
        "visitor_42": "0.125",
    }
    created = await api.admin_post(
        "accounts", {"name": "frank", "access_level": 2, "balance": "1"}, status=201
    )
    assert created["uid"] == 4003
    assert created["email"] == "frank@example.com"
    assert len(created["public_key"]) == 130
    assert (await api.admin_get("accounts/4003"))["name"] == "frank"
    await api.admin_post("accounts", {"uid": 123}, status=400)
    await api.admin_post("accounts", {"access_level": 9}, status=400)
    await api.admin_post("accounts", "not an object", status=400)
    async with api.session.get(api.admin / "accounts" / "nobody") as resp:
        assert resp.status == 404
    async with api.session.post(api.admin / "accounts", data=b"{oops") as resp:
        assert resp.status == 400


async def test_admin_records_raw_paths(api: Api) -> None:
    await api.get("balance/auth/0/", header_key=ALICE_KEY)
    await api.get("balance/auth/0", header_key=ALICE_KEY)
    assert await api.admin_get("paths") == [
        "/jsecoin/server/api/balance/auth/0/",
        "/jsecoin/server/api/balance/auth/0",
    ]
    async with api.session.delete(api.admin / "paths") as resp:
        assert await resp.json() == []
    assert await api.admin_get("paths") == []


def test_default_seed_and_bad_seeds() -> None:
    state = provider.JSEcoinState(SandboxContext(seed={}, rng=random.Random(0)))
    assert state.block_seconds == provider.DEFAULT_BLOCK_SECONDS
    assert state.daily_limit == provider.DEFAULT_DAILY_LIMIT
    assert state.find("alice") is state.find("123")
    with pytest.raises(ValueError, match="unknown transfer target"):
        provider.JSEcoinState(
            SandboxContext(
                seed={
                    "jsecoin": {
                        "accounts": [
                            {
                                "name": "a",
                                "history": [
                                    {"command": "transfer", "to": "ghost", "value": 1}
                                ],
                            }
                        ]
                    }
                }
            )
        )
    with pytest.raises(ValueError, match="not an amount"):
        provider.JSEcoinState(
            SandboxContext(seed={"jsecoin": {"accounts": [{"balance": "x"}]}})
        )


def test_same_seed_same_sandbox() -> None:
    def coin_codes(rng_seed: int) -> list[str]:
        state = provider.JSEcoinState(
            SandboxContext(seed={}, rng=random.Random(rng_seed))
        )
        alice = state.find("alice")
        assert alice is not None
        codes = [state.export(alice, "1")["coinCode"]]
        alice.locked_until_block = 0
        codes.append(state.export(alice, "1")["coinCode"])
        return codes

    assert coin_codes(5) == coin_codes(5)
    assert coin_codes(5) != coin_codes(6)
    assert len(set(coin_codes(5))) == 2
