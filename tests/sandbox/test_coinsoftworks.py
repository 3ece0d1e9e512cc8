"""The coinsoftworks sandbox spoken to directly: tokens, limits, executions and admin."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, ClientSession
import pytest

from sandbox import coinsoftworks as provider
from tests.conftest import Sandbox

SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "coinsoftworks.json").read_text()
)
JOHN = SEED["accounts"][0]
MIA = SEED["accounts"][1]
NO_API = SEED["accounts"][2]
KEY, TOKEN = JOHN["api_key"], JOHN["access_token"]


class Api:
    """Raw requests to the sandbox's coinsoftworks API and admin routes."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.url = sandbox.url / "coinsoftworks" / "_functions"
        self.admin = sandbox.url / "_admin" / "coinsoftworks"

    async def authenticate(
        self, api_key: str = KEY, access_token: str | None = TOKEN
    ) -> tuple[ClientResponse, dict[str, Any]]:
        headers = (
            {} if access_token is None else {"X-SIMPLE-API-ACCESS-TOKEN": access_token}
        )
        resp = await self.session.post(
            self.url / "authentication" / api_key, headers=headers
        )
        return resp, await resp.json()

    async def bearer(self, api_key: str = KEY, access_token: str = TOKEN) -> str:
        resp, body = await self.authenticate(api_key, access_token)
        assert resp.status == 200, body
        return str(body["bearer_token"])

    async def get(
        self, *path: str, bearer: str | None = None, scheme: str = "Bearer"
    ) -> tuple[ClientResponse, Any]:
        headers = {} if bearer is None else {"Authorization": f"{scheme} {bearer}"}
        url = self.url.joinpath(*path)
        resp = await self.session.get(url, headers=headers)
        return resp, await resp.json()

    async def execute(
        self, action_id: str, bearer: str, body: Any = None, *, raw: str | None = None
    ) -> tuple[ClientResponse, Any]:
        headers = {"Authorization": f"Bearer {bearer}"}
        url = self.url / "actions" / KEY / action_id
        if raw is not None:
            resp = await self.session.post(url, data=raw, headers=headers)
        elif body is None:
            resp = await self.session.post(url, headers=headers)
        else:
            resp = await self.session.post(url, json=body, headers=headers)
        return resp, await resp.json()

    async def admin_get(self, *path: str) -> tuple[ClientResponse, Any]:
        resp = await self.session.get(self.admin.joinpath(*path))
        body = await resp.json() if resp.status == 200 else await resp.text()
        return resp, body

    async def admin_post(
        self, *path: str, body: Any = None, raw: str | None = None
    ) -> tuple[ClientResponse, Any]:
        url = self.admin.joinpath(*path)
        if raw is not None:
            resp = await self.session.post(url, data=raw)
        else:
            resp = await self.session.post(url, json=body)
        ok = resp.status in {200, 201}
        return resp, await resp.json() if ok else await resp.text()

    def advance(self, seconds: float) -> None:
        self.sandbox.context.clock.advance(seconds)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncGenerator[Api]:
    async with ClientSession() as session:
        yield Api(sandbox, session)


# Authentication


async def test_authentication_issues_a_bearer_with_expiration_and_ticks(
    sandbox: Sandbox, api: Api
) -> None:
    now = sandbox.context.clock.now()

    resp, body = await api.authenticate()

    assert resp.status == 200
    assert set(body) == {"bearer_token", "expiration", "ticks"}
    assert body["expiration"].endswith("Z")
    expiration = datetime.fromisoformat(body["expiration"])
    assert 3599 <= expiration.timestamp() - now <= 3600
    # .NET ticks (100 ns since 0001-01-01) of the expiration, like the document's example.
    start = datetime(1, 1, 1, tzinfo=UTC)
    assert body["ticks"] == int((expiration - start).total_seconds()) * 10_000_000
    served = parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(served - now) < 2  # the Date header follows the sandbox clock


async def test_authentication_without_the_header_is_a_bad_request(api: Api) -> None:
    resp, body = await api.authenticate(access_token=None)

    assert resp.status == 400
    assert body == {"message": provider.BAD_REQUEST}


@pytest.mark.parametrize(
    ("api_key", "access_token"),
    [
        ("sandbox-csw-key-unknown", TOKEN),
        (KEY, "1_wrong"),
        (NO_API["api_key"], NO_API["access_token"]),
    ],
)
async def test_refused_credentials_answer_500_unauthorized(
    api: Api, api_key: str, access_token: str
) -> None:
    resp, body = await api.authenticate(api_key, access_token)

    assert resp.status == 500
    assert body == {"message": provider.UNAUTHORIZED}


async def test_authenticating_again_too_soon_is_429(api: Api) -> None:
    first = await api.bearer()
    api.advance(4)

    resp, body = await api.authenticate()

    assert resp.status == 429
    assert resp.headers["Retry-After"] == "6"
    assert body == {"message": provider.TOO_MANY_REQUESTS}
    api.advance(6)
    assert await api.bearer() != first
    (state,) = [
        account
        for account in (await api.admin_get("accounts"))[1]
        if account["api_key"] == KEY
    ]
    assert state["auth_count"] == 2
    assert state["live_tokens"] == 2  # the first token stays valid until it expires


# Reads


async def test_reads_answer_the_account_with_a_valid_bearer(api: Api) -> None:
    bearer = await api.bearer()

    user = await api.get("user", KEY, bearer=bearer)
    settings = await api.get("settings", KEY, bearer=bearer)
    actions = await api.get("actions", KEY, bearer=bearer)

    assert user[1] == {"username": "JohnCB5496", "purchased_plan": "Ultimate"}
    assert settings[1] == {
        "settings_list": JOHN["settings_list"],
        "enterprise_mode": "true",  # as seeded: the document's example shape
    }
    ids = [action["action_id"] for action in actions[1]]
    assert ids == ["33", 12, 17, 41]  # text and numbers, as the document mixes them
    send, claim = actions[1][0], actions[1][1]
    assert send["parameters"] == ["recipient", "amount"]
    assert "parameters" not in claim
    assert "duration" not in claim  # sandbox behaviour stays private
    assert {resp.status for resp, _ in (user, settings, actions)} == {200}


@pytest.mark.parametrize("case", ["missing", "unknown", "scheme", "other_account"])
async def test_reads_without_a_valid_bearer_are_401(api: Api, case: str) -> None:
    bearer = await api.bearer()
    other = await api.bearer(MIA["api_key"], MIA["access_token"])
    header: dict[str, Any] = {
        "missing": {"bearer": None},
        "unknown": {"bearer": "sbx.forged"},
        "scheme": {"bearer": bearer, "scheme": "Basic"},
        "other_account": {"bearer": other},
    }[case]

    resp, body = await api.get("user", KEY, **header)

    assert resp.status == 401
    assert body == {"message": provider.BEARER_REFUSED}


async def test_bearer_expires_after_its_lifetime(api: Api) -> None:
    bearer = await api.bearer()
    api.advance(3599)
    assert (await api.get("user", KEY, bearer=bearer))[0].status == 200

    api.advance(1)

    resp, body = await api.get("user", KEY, bearer=bearer)
    assert resp.status == 401
    assert body["message"] == provider.BEARER_REFUSED
    # The admin API counts the refused bearers: one, the expired one.
    assert (await api.admin_get("accounts", KEY))[1]["refused_bearers"] == 1


async def test_reads_of_an_unknown_or_disabled_account_are_500(api: Api) -> None:
    bearer = await api.bearer()
    await api.admin_post("accounts", KEY, "api_enabled", body={"enabled": False})

    disabled = await api.get("settings", KEY, bearer=bearer)
    unknown = await api.get("settings", "sandbox-csw-key-unknown", bearer=bearer)

    assert disabled == (disabled[0], {"message": provider.UNAUTHORIZED})
    assert disabled[0].status == unknown[0].status == 500


async def test_throttling_answers_503_with_retry_after(api: Api) -> None:
    await api.admin_post("settings", body={"rate_limit": {"requests": 2, "window": 30}})
    bearer = await api.bearer()  # the first request of the window
    api.advance(5)
    assert (await api.get("user", KEY, bearer=bearer))[0].status == 200

    resp, body = await api.get("user", KEY, bearer=bearer)

    assert resp.status == 503
    assert resp.headers["Retry-After"] == "25"
    assert body == {"message": provider.THROTTLED.format(25)}
    api.advance(25)
    assert (await api.get("user", KEY, bearer=bearer))[0].status == 200


# Executions (the assumed endpoints)


async def test_execution_moves_from_queued_to_running_to_completed(api: Api) -> None:
    bearer = await api.bearer()

    resp, started = await api.execute("12", bearer)

    assert resp.status == 200
    assert started["status"] == "queued"
    execution_id = started["execution_id"]
    statuses = []
    for step in (0, 1, 2.9, 0.1):
        api.advance(step)
        _, report = await api.get("executions", KEY, execution_id, bearer=bearer)
        statuses.append(report["status"])
    assert statuses == ["queued", "running", "running", "completed"]
    assert report == {
        "execution_id": execution_id,
        "action_id": "12",
        "status": "completed",
        "result": {"claimed": "0.00042", "currency": "BTC"},
        "message": None,
    }


async def test_failing_execution_reports_its_message(api: Api) -> None:
    bearer = await api.bearer()
    _, started = await api.execute("17", bearer, {"parameters": {}})
    _, running = await api.get(
        "executions", KEY, started["execution_id"], bearer=bearer
    )
    assert running["message"] is None

    api.advance(3)

    _, report = await api.get("executions", KEY, started["execution_id"], bearer=bearer)
    assert report["status"] == "failed"
    assert report["message"] == "Insufficient liquidity for the swap"
    assert report["result"] is None


async def test_completed_execution_without_a_seeded_result_gets_a_transaction(
    api: Api,
) -> None:
    bearer = await api.bearer()
    _, started = await api.execute(
        "33", bearer, {"parameters": {"recipient": "bc1q", "amount": "0.1"}}
    )
    api.advance(6)

    _, report = await api.get("executions", KEY, started["execution_id"], bearer=bearer)

    assert report["status"] == "completed"
    assert report["result"]["tx"].startswith("0x")


@pytest.mark.parametrize(
    ("action_id", "body", "refusal"),
    [
        ("999", {}, (404, provider.UNKNOWN_ACTION.format("999"))),
        ("41", {}, (400, provider.ACTION_DISABLED.format("41"))),
        ("33", {"parameters": {}}, (400, "Missing parameters: recipient, amount")),
        ("12", {"parameters": {"x": 1, "a": 2}}, (400, "Unknown parameters: a, x")),
        ("12", {"parameters": ["x"]}, (400, provider.BAD_REQUEST)),
        ("12", ["x"], (400, provider.BAD_REQUEST)),
        ("12", "{not json", (400, provider.BAD_REQUEST)),  # sent as is
    ],
)
async def test_refused_executions(
    api: Api, action_id: str, body: Any, refusal: tuple[int, str]
) -> None:
    bearer = await api.bearer()
    raw = body if isinstance(body, str) else None

    resp, answer = await api.execute(action_id, bearer, None if raw else body, raw=raw)

    assert (resp.status, answer) == (refusal[0], {"message": refusal[1]})
    (_, state) = await api.admin_get("accounts", KEY)
    assert state["executions"] == []


async def test_executions_are_private_to_their_account(api: Api) -> None:
    bearer = await api.bearer()
    _, started = await api.execute("12", bearer)
    mia = await api.bearer(MIA["api_key"], MIA["access_token"])

    resp, body = await api.get(
        "executions", MIA["api_key"], started["execution_id"], bearer=mia
    )

    assert resp.status == 404
    assert body == {
        "message": provider.UNKNOWN_EXECUTION.format(started["execution_id"])
    }


async def test_execute_needs_a_bearer(api: Api) -> None:
    resp, body = await api.execute("12", "sbx.forged")

    assert resp.status == 401
    assert body["message"] == provider.BEARER_REFUSED


# Admin routes


async def test_admin_lists_accounts_with_their_state(api: Api) -> None:
    await api.bearer()

    resp, accounts = await api.admin_get("accounts")

    assert resp.status == 200
    assert [account["username"] for account in accounts] == [
        "JohnCB5496",
        "MiaStarter",
        "NoApiNed",
    ]
    john = accounts[0]
    assert john["auth_count"] == 1
    assert john["live_tokens"] == 1
    assert john["api_enabled"] is True
    assert [action["outcome"] for action in john["actions"]] == [
        "completed",
        "completed",
        "failed",
        "completed",
    ]
    assert "access_token" not in json.dumps(accounts)
    missing, _ = await api.admin_get("accounts", "nobody")
    assert missing.status == 404


async def test_admin_turns_api_access_off_and_on(api: Api) -> None:
    resp, state = await api.admin_post(
        "accounts", KEY, "api_enabled", body={"enabled": False}
    )
    assert resp.status == 200
    assert state["api_enabled"] is False
    assert (await api.authenticate())[0].status == 500

    await api.admin_post("accounts", KEY, "api_enabled", body={"enabled": True})
    assert (await api.authenticate())[0].status == 200

    bad, _ = await api.admin_post(
        "accounts", KEY, "api_enabled", body={"enabled": "no"}
    )
    not_json, _ = await api.admin_post("accounts", KEY, "api_enabled", raw="{")
    assert bad.status == not_json.status == 400


async def test_admin_adds_and_replaces_actions(api: Api) -> None:
    new_action = {
        "action_id": 50,
        "action_name": "Top up wallet",
        "action_type": "eWallet Action",
        "action_status": "Disabled",
        "parameters": ["amount"],
        "duration": 0,
        "outcome": "completed",
    }
    resp, added = await api.admin_post("accounts", KEY, "actions", body=new_action)
    assert resp.status == 201
    assert added["action_id"] == 50
    bearer = await api.bearer()
    assert (await api.execute("50", bearer, {"parameters": {"amount": 1}}))[
        0
    ].status == 400

    enabled = {**new_action, "action_status": "Enabled"}
    resp, _ = await api.admin_post("accounts", KEY, "actions", body=enabled)
    assert resp.status == 200
    _, started = await api.execute("50", bearer, {"parameters": {"amount": 1}})
    api.advance(1)
    _, report = await api.get("executions", KEY, started["execution_id"], bearer=bearer)
    assert report["status"] == "completed"  # no running time at all
    _, actions = await api.get("actions", KEY, bearer=bearer)
    assert actions[-1]["action_id"] == 50


@pytest.mark.parametrize(
    "action",
    [
        {"action_name": "no id"},
        {"action_id": 1},
        {"action_id": True, "action_name": "x"},
        {"action_id": 1, "action_name": "x", "outcome": "exploded"},
        {"action_id": 1, "action_name": "x", "parameters": "amount"},
        {"action_id": 1, "action_name": "x", "duration": "long"},
        ["not", "an", "object"],
    ],
)
async def test_admin_refuses_invalid_actions(api: Api, action: Any) -> None:
    resp, _ = await api.admin_post("accounts", KEY, "actions", body=action)

    assert resp.status == 400
    (_, state) = await api.admin_get("accounts", KEY)
    assert len(state["actions"]) == 4


async def test_admin_expires_the_accounts_tokens(api: Api) -> None:
    bearer = await api.bearer()
    mia = await api.bearer(MIA["api_key"], MIA["access_token"])

    resp, answer = await api.admin_post("accounts", KEY, "expire_tokens")

    assert resp.status == 200
    assert answer == {"expired": 1}
    assert (await api.get("user", KEY, bearer=bearer))[0].status == 401
    assert (await api.get("user", MIA["api_key"], bearer=mia))[0].status == 200
    assert (await api.admin_post("accounts", KEY, "expire_tokens"))[1] == {"expired": 0}
    missing, _ = await api.admin_post("accounts", "nobody", "expire_tokens")
    assert missing.status == 404


async def test_admin_tunes_the_provider(api: Api) -> None:
    resp, defaults = await api.admin_get("settings")
    assert resp.status == 200
    assert defaults == {
        "token_ttl": 3600.0,
        "min_auth_interval": 10.0,
        "rate_limit": {"requests": 60, "window": 60.0},
        "queued_seconds": 1.0,
    }

    _, tuned = await api.admin_post(
        "settings",
        body={"token_ttl": 120, "min_auth_interval": 0, "queued_seconds": 0},
    )
    assert tuned["token_ttl"] == 120
    await api.bearer()
    _, body = await api.authenticate()  # no minimum interval any more
    expiration = datetime.fromisoformat(body["expiration"]).timestamp()
    assert expiration - api.sandbox.context.clock.now() <= 120

    for invalid in ({"token_ttl": "soon"}, {"rate_limit": 5}, ["token_ttl"]):
        bad, _ = await api.admin_post("settings", body=invalid)
        assert bad.status == 400


@pytest.mark.parametrize(
    "sandbox_seed",
    [
        {
            "coinsoftworks": {
                "token_ttl": 60,
                "accounts": [
                    {
                        "api_key": "k-only",
                        "access_token": "1_only",
                        "username": "Solo",
                        "actions": [{"action_id": "a", "action_name": "Go"}],
                    }
                ],
            }
        }
    ],
)
async def test_a_seed_section_replaces_the_default_accounts(api: Api) -> None:
    bearer = await api.bearer("k-only", "1_only")

    _, user = await api.get("user", "k-only", bearer=bearer)
    _, settings = await api.get("settings", "k-only", bearer=bearer)
    _, actions = await api.get("actions", "k-only", bearer=bearer)

    assert user == {"username": "Solo", "purchased_plan": "Free"}
    assert settings == {"settings_list": {}, "enterprise_mode": False}
    assert actions == [
        {
            "action_name": "Go",
            "action_type": "eWallet Action",
            "action_id": "a",
            "action_status": "Enabled",
        }
    ]
    assert (await api.authenticate())[0].status == 500  # John is not seeded
    api.advance(60)
    assert (await api.get("user", "k-only", bearer=bearer))[0].status == 401
