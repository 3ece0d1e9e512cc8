"""The coinsoftworks client against the sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import socket
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.coinhub.api.coinsoftworks import (
    BearerToken,
    CoinsoftworksClient,
    ExecutionStatus,
    Settings,
    TokenCache,
    User,
    client as client_module,
)
from custom_components.coinhub.api.coinsoftworks.client import (
    UNAUTHORIZED_MESSAGE,
    _Issued,
    _server_time,
)
from custom_components.coinhub.api.exceptions import (
    AuthenticationError,
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    OutcomeUnknownError,
    ProviderRefusedError,
    RateLimitedError,
)
from tests.conftest import Sandbox

SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "coinsoftworks.json").read_text()
)
JOHN = SEED["accounts"][0]
MIA = SEED["accounts"][1]
NO_API = SEED["accounts"][2]
JOHN_KEY, JOHN_TOKEN = JOHN["api_key"], JOHN["access_token"]
SEND_BTC, CLAIM, SWAP, RESTART = "33", "12", "17", "41"  # John's actions


@pytest.fixture
async def session() -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


def sandbox_cache(sandbox: Sandbox) -> TokenCache:
    """A token cache that lives on the sandbox clock, so tests can move time."""
    return TokenCache(clock=sandbox.context.clock.now)


def make_client(
    sandbox: Sandbox,
    session: ClientSession,
    api_key: str = JOHN_KEY,
    access_token: str = JOHN_TOKEN,
    **kwargs: Any,
) -> CoinsoftworksClient:
    kwargs.setdefault("request_timeout", 5)
    kwargs.setdefault("token_cache", sandbox_cache(sandbox))
    return CoinsoftworksClient(
        session,
        api_key,
        access_token,
        base_url=sandbox.base_url("coinsoftworks"),
        **kwargs,
    )


@pytest.fixture
def client(sandbox: Sandbox, session: ClientSession) -> CoinsoftworksClient:
    return make_client(sandbox, session)


class Admin:
    """The sandbox's admin API, as the tests use it."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.sandbox = sandbox
        self.url = sandbox.url / "_admin"
        self.provider = self.url / "coinsoftworks"
        self.session = session

    async def fault(self, **rule: Any) -> None:
        resp = await self.session.post(
            self.url / "faults", json={"provider": "coinsoftworks", **rule}
        )
        assert resp.status == 201

    async def account(self, api_key: str = JOHN_KEY) -> dict[str, Any]:
        resp = await self.session.get(self.provider / "accounts" / api_key)
        assert resp.status == 200
        state: dict[str, Any] = await resp.json()
        return state

    async def auth_count(self, api_key: str = JOHN_KEY) -> int:
        return int((await self.account(api_key))["auth_count"])

    async def executions(self, api_key: str = JOHN_KEY) -> list[dict[str, Any]]:
        executions: list[dict[str, Any]] = (await self.account(api_key))["executions"]
        return executions

    async def settings(self, **settings: Any) -> None:
        resp = await self.session.post(self.provider / "settings", json=settings)
        assert resp.status == 200

    async def expire_tokens(self, api_key: str = JOHN_KEY) -> int:
        resp = await self.session.post(
            self.provider / "accounts" / api_key / "expire_tokens"
        )
        return int((await resp.json())["expired"])

    async def api_enabled(self, enabled: bool, api_key: str = JOHN_KEY) -> None:
        resp = await self.session.post(
            self.provider / "accounts" / api_key / "api_enabled",
            json={"enabled": enabled},
        )
        assert resp.status == 200


@pytest.fixture
def admin(sandbox: Sandbox, session: ClientSession) -> Admin:
    return Admin(sandbox, session)


def route_count(sandbox: Sandbox, method: str, template: str) -> int:
    return sandbox.context.requests[
        ("coinsoftworks", method, "/coinsoftworks/_functions" + template)
    ]


def auth_requests(sandbox: Sandbox) -> int:
    return route_count(sandbox, "POST", "/authentication/{api_key}")


def assert_no_secret(err: BaseException, *secrets: str) -> None:
    """Neither the error nor what it chains may name a credential."""
    texts = (str(err), repr(err), str(err.args))
    for secret in (JOHN_KEY, JOHN_TOKEN, *secrets):
        for text in texts:
            assert secret not in text
    assert err.__cause__ is None


# Authentication and the token cache


async def test_authenticate_returns_a_bearer_and_keeps_it(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    token = await client.authenticate()
    again = await client.authenticate()

    assert again is token
    assert token.token.startswith("sbx.")
    now = datetime.fromtimestamp(sandbox.context.clock.now(), UTC)
    assert (
        now + timedelta(seconds=3590)
        < token.expiration
        <= now + timedelta(seconds=3600)
    )
    assert token.ticks is not None
    assert await admin.auth_count() == 1


async def test_reads_share_one_authentication(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    user = await client.user()
    settings = await client.settings()
    actions = await client.actions()
    await client.user()

    assert user == User("JohnCB5496", "Ultimate")
    assert settings == Settings(
        enterprise_mode=True,  # the sandbox sends "true", as the document shows
        settings_list={"language": "en", "timezone": "UTC", "notifications": True},
    )
    assert [action.action_id for action in actions] == [SEND_BTC, CLAIM, SWAP, RESTART]
    assert [action.enabled for action in actions] == [True, True, True, False]
    assert actions[0].parameters == ("recipient", "amount")
    assert not actions[1].takes_parameters
    assert auth_requests(sandbox) == 1
    assert await admin.auth_count() == 1


async def test_settings_with_a_boolean_flag(
    sandbox: Sandbox, session: ClientSession
) -> None:
    mia = make_client(sandbox, session, MIA["api_key"], MIA["access_token"])

    assert await mia.settings() == Settings(enterprise_mode=False, settings_list={})
    assert (await mia.user()).purchased_plan == "Starter"


async def test_concurrent_callers_share_one_authentication(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    results = await asyncio.gather(
        client.user(),
        client.settings(),
        client.actions(),
        *(client.authenticate() for _ in range(5)),
    )

    assert results[0].username == "JohnCB5496"
    assert len({id(token) for token in results[3:]}) == 1
    assert auth_requests(sandbox) == 1
    assert await admin.auth_count() == 1


async def test_concurrent_callers_share_a_failed_authentication(
    sandbox: Sandbox, session: ClientSession
) -> None:
    client = make_client(sandbox, session, access_token="1_not-the-token")

    results = await asyncio.gather(
        client.user(), client.settings(), client.actions(), return_exceptions=True
    )

    assert all(isinstance(result, AuthenticationError) for result in results)
    assert auth_requests(sandbox) == 1
    for result in results:
        assert isinstance(result, BaseException)
        assert_no_secret(result, "1_not-the-token")


async def test_a_cancelled_caller_leaves_the_shared_authentication_running(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await admin.fault(kind="latency", seconds=0.2, path="/authentication/", count=1)
    first = asyncio.create_task(client.authenticate())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(client.authenticate())
    await asyncio.sleep(0)
    first.cancel()

    token = await second

    assert first.cancelled()
    assert client.token_cache.fresh_token(sandbox.base_url("coinsoftworks")) is token
    assert auth_requests(sandbox) == 1


async def test_a_cache_handed_to_the_next_client_keeps_its_bearer(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    """Two clients given one cache authenticate once; a client alone starts afresh."""
    cache = sandbox_cache(sandbox)
    flow_client = make_client(sandbox, session, token_cache=cache)
    await flow_client.user()
    entry_client = make_client(sandbox, session, token_cache=cache)

    assert entry_client.token_cache is cache
    assert (await entry_client.actions())[0].action_id == SEND_BTC
    assert await admin.auth_count() == 1
    alone = CoinsoftworksClient(
        session, JOHN_KEY, JOHN_TOKEN, base_url=sandbox.base_url("coinsoftworks")
    )
    assert alone.token_cache is not cache
    assert alone.token_cache.fresh_token(sandbox.base_url("coinsoftworks")) is None


async def test_cache_follows_a_replaced_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a clock of its own, the cache reads time.time at each call."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(client_module.time, "time", lambda: now[0])
    cache = TokenCache(refresh_margin=60)

    async def authenticate() -> _Issued:
        return issued(3600, now[0], server_time=now[0])

    token = await cache.get("https://a", authenticate)
    now[0] += 3539
    assert cache.fresh_token("https://a") is token
    now[0] += 3541
    assert cache.fresh_token("https://a") is None


async def test_token_is_refreshed_shortly_before_it_expires(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    first = await client.authenticate()

    sandbox.context.clock.advance(3600 - 70)  # 70 s left: still used
    await client.user()
    assert await admin.auth_count() == 1

    sandbox.context.clock.advance(20)  # 50 s left: within the margin
    await client.user()

    second = await client.authenticate()
    assert second.token != first.token
    assert second.expiration > first.expiration
    assert await admin.auth_count() == 2
    assert route_count(sandbox, "GET", "/user/{api_key}") == 2  # never a 401


async def test_expired_token_is_replaced_once_and_the_call_succeeds(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.user()
    assert await admin.expire_tokens() == 1
    sandbox.context.clock.advance(30)  # past the minimum interval between logins

    assert (await client.settings()).enterprise_mode is True

    assert await admin.auth_count() == 2
    assert route_count(sandbox, "GET", "/settings/{api_key}") == 2  # 401, then retry


async def test_a_second_401_is_an_authentication_error(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await admin.settings(min_auth_interval=0)
    await admin.fault(
        kind="status", status=401, path="/user/", count=2, body='{"message": "no"}'
    )

    with pytest.raises(AuthenticationError) as refused:
        await client.user()

    assert route_count(sandbox, "GET", "/user/{api_key}") == 2  # retried once only
    assert await admin.auth_count() == 2
    assert client.token_cache.fresh_token(sandbox.base_url("coinsoftworks")) is None
    assert_no_secret(refused.value)


async def test_authenticating_too_often_is_rate_limited(
    sandbox: Sandbox, session: ClientSession, client: CoinsoftworksClient
) -> None:
    await client.authenticate()
    other = make_client(sandbox, session)  # its own cache: it must log in again

    with pytest.raises(RateLimitedError) as limited:
        await other.authenticate()

    assert limited.value.retry_after == 10
    assert_no_secret(limited.value)
    sandbox.context.clock.advance(10)
    assert (await other.authenticate()).token != (await client.authenticate()).token


async def test_throttling_is_rate_limited_with_retry_after(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await admin.settings(rate_limit={"requests": 3, "window": 60})
    await client.user()  # authentication + user
    await client.settings()

    with pytest.raises(RateLimitedError) as throttled:
        await client.actions()

    assert throttled.value.retry_after == 60
    assert_no_secret(throttled.value)
    sandbox.context.clock.advance(61)
    assert len(await client.actions()) == 4


@pytest.mark.parametrize(
    ("api_key", "access_token"),
    [
        ("sandbox-csw-key-unknown", JOHN_TOKEN),
        (JOHN_KEY, "1_wrong-token"),
        (NO_API["api_key"], NO_API["access_token"]),
    ],
)
async def test_refused_credentials_are_an_authentication_error(
    sandbox: Sandbox, session: ClientSession, api_key: str, access_token: str
) -> None:
    client = make_client(sandbox, session, api_key, access_token)

    with pytest.raises(AuthenticationError) as refused:
        await client.user()

    assert str(refused.value) == UNAUTHORIZED_MESSAGE
    assert_no_secret(refused.value, api_key, access_token)
    assert route_count(sandbox, "GET", "/user/{api_key}") == 0


@pytest.mark.parametrize(
    "body",
    [
        "Unauthorized (check your account API Key or enable it through the settings)",
        "500 Unauthorized",
        json.dumps("Unauthorized"),
        json.dumps({"error": {"message": "Unauthorized"}}),
    ],
)
async def test_the_documented_unauthorized_text_is_an_authentication_error(
    client: CoinsoftworksClient, admin: Admin, body: str
) -> None:
    await client.authenticate()
    await admin.fault(kind="status", status=500, path="/user/", count=1, body=body)

    with pytest.raises(AuthenticationError) as refused:
        await client.user()

    assert str(refused.value) == UNAUTHORIZED_MESSAGE


async def test_a_server_error_quotes_the_provider_without_secrets(
    client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.authenticate()
    body = json.dumps({"message": f"database down for {JOHN_KEY}"})
    await admin.fault(kind="status", status=500, path="/user/", count=1, body=body)

    with pytest.raises(CannotConnectError) as failed:
        await client.user()

    assert "HTTP 500" in str(failed.value)
    assert "database down for ***" in str(failed.value)
    assert_no_secret(failed.value)


async def test_api_access_turned_off_is_an_authentication_error(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    token = await client.authenticate()
    await admin.api_enabled(False)

    with pytest.raises(AuthenticationError, match="enable API access") as refused:
        await client.actions()

    assert_no_secret(refused.value, token.token)
    await admin.api_enabled(True)
    assert len(await client.actions()) == 4


async def test_bad_request_on_authentication_is_a_refusal(
    client: CoinsoftworksClient, admin: Admin
) -> None:
    await admin.fault(
        kind="status",
        status=400,
        path="/authentication/",
        count=1,
        body=json.dumps({"message": f"Bad Request for {JOHN_KEY} ({JOHN_TOKEN})"}),
    )

    with pytest.raises(ProviderRefusedError) as refused:
        await client.authenticate()

    assert refused.value.notification == "Bad Request for *** (***)"
    assert_no_secret(refused.value)


@pytest.mark.parametrize(
    ("body", "notification"),
    [
        ({"error": {"message": "Nested refusal"}}, "Nested refusal"),
        ({"error": "Flat refusal"}, "Flat refusal"),
        ({"message": "  "}, "coinsoftworks refused the request (HTTP 400)"),
        ({"message": "x" * 400}, "x" * 300),
    ],
)
async def test_refusal_messages_are_read_from_several_shapes(
    client: CoinsoftworksClient, admin: Admin, body: Any, notification: str
) -> None:
    await client.authenticate()
    await admin.fault(
        kind="status", status=400, path="/actions/", count=1, body=json.dumps(body)
    )

    with pytest.raises(ProviderRefusedError) as refused:
        await client.actions()

    assert refused.value.notification == notification


async def test_a_refusal_never_echoes_the_bearer(
    client: CoinsoftworksClient, admin: Admin
) -> None:
    token = await client.authenticate()
    await admin.fault(
        kind="status",
        status=400,
        path="/user/",
        count=1,
        body=json.dumps({"message": f"bad bearer {token.token}"}),
    )

    with pytest.raises(ProviderRefusedError) as refused:
        await client.user()

    assert refused.value.notification == "bad bearer ***"


async def test_unexpected_401_on_authentication_is_an_authentication_error(
    client: CoinsoftworksClient, admin: Admin
) -> None:
    await admin.fault(kind="status", status=401, path="/authentication/", count=1)

    with pytest.raises(AuthenticationError) as refused:
        await client.authenticate()

    assert_no_secret(refused.value)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "malformed"}, CannotConnectError),
        ({"kind": "truncated"}, CannotConnectError),
        ({"kind": "drop_before"}, CannotConnectError),
        ({"kind": "status", "status": 502}, CannotConnectError),
        (
            {"kind": "status", "status": 200, "body": '{"bearer_token": null}'},
            CannotConnectError,
        ),
        ({"kind": "status", "status": 503, "retry_after": 5}, RateLimitedError),
    ],
)
async def test_broken_authentication_answers(
    client: CoinsoftworksClient,
    admin: Admin,
    fault: dict[str, Any],
    expected: type[CoinHubError],
) -> None:
    await admin.fault(**fault, path="/authentication/", count=1)

    with pytest.raises(expected) as broken:
        await client.user()

    assert_no_secret(broken.value)
    assert client.token_cache.fresh_token("anything") is None


# Reads


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "malformed"},
        {"kind": "truncated"},
        {"kind": "drop_after_apply"},
        {"kind": "status", "status": 502, "body": "<html>Bad gateway</html>"},
        # A 500 that is not the documented "Unauthorized (…)": the server failed.
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 500, "body": "<html>Internal error</html>"},
        {"kind": "status", "status": 404, "body": "Not Found"},
        {"kind": "status", "status": 200, "body": "[]"},
    ],
)
async def test_broken_answer_to_a_read_cannot_connect(
    client: CoinsoftworksClient, admin: Admin, fault: dict[str, Any]
) -> None:
    token = await client.authenticate()
    await admin.fault(**fault, path="/user/", count=3)

    with pytest.raises(CannotConnectError) as broken:
        await client.user()

    assert_no_secret(broken.value, token.token)


async def test_a_slow_read_times_out_as_cannot_connect(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    client = make_client(sandbox, session, request_timeout=0.2)
    await client.authenticate()
    await admin.fault(kind="latency", seconds=1, path="/actions/", count=1)

    with pytest.raises(CannotConnectError, match="TimeoutError") as slow:
        await client.actions()

    assert_no_secret(slow.value)


async def test_an_unreachable_server_cannot_connect(
    sandbox: Sandbox, session: ClientSession
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CoinsoftworksClient(
        session,
        JOHN_KEY,
        JOHN_TOKEN,
        base_url=f"http://127.0.0.1:{port}/_functions",
    )

    with pytest.raises(CannotConnectError) as unreachable:
        await client.user()

    assert_no_secret(unreachable.value)


async def test_a_read_refusal_with_a_provider_body(
    client: CoinsoftworksClient,
) -> None:
    with pytest.raises(ProviderRefusedError, match="Unknown execution: exe-missing"):
        await client.execution("exe-missing")


# Executing actions


async def test_an_execution_progresses_to_completed(
    sandbox: Sandbox, client: CoinsoftworksClient
) -> None:
    started = await client.execute_action(CLAIM)

    assert started.action_id == CLAIM
    assert started.status is ExecutionStatus.QUEUED
    queued = await client.execution(started.execution_id)
    assert queued.status is ExecutionStatus.QUEUED

    sandbox.context.clock.advance(1)
    running = await client.execution(started.execution_id)
    assert running.status is ExecutionStatus.RUNNING
    assert running.result is None

    sandbox.context.clock.advance(3)
    done = await client.execution(started.execution_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.finished
    assert done.action_id == CLAIM
    assert done.result == {"claimed": "0.00042", "currency": "BTC"}


async def test_an_execution_that_fails_tells_why(
    sandbox: Sandbox, client: CoinsoftworksClient
) -> None:
    started = await client.execute_action(SWAP, {})
    sandbox.context.clock.advance(1 + 2)

    failed = await client.execution(started.execution_id)

    assert failed.status is ExecutionStatus.FAILED
    assert failed.message == "Insufficient liquidity for the swap"
    assert failed.result is None


async def test_an_action_with_parameters_receives_them(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    parameters = {"recipient": "bc1qexampleexampleexample", "amount": "0.001"}

    started = await client.execute_action(SEND_BTC, parameters)
    sandbox.context.clock.advance(6)
    done = await client.execution(started.execution_id)

    (recorded,) = await admin.executions()
    assert recorded["parameters"] == parameters
    assert recorded["action_id"] == SEND_BTC
    assert done.status is ExecutionStatus.COMPLETED
    assert str(done.result["tx"]).startswith("0x")


@pytest.mark.parametrize(
    ("action_id", "parameters", "message"),
    [
        (SEND_BTC, {"recipient": "bc1q"}, "Missing parameters: amount"),
        (CLAIM, {"amount": 1}, "Unknown parameters: amount"),
        (RESTART, None, f"Action {RESTART} is disabled"),
        ("999", None, "Unknown action: 999"),
    ],
)
async def test_refused_executions_start_nothing(
    client: CoinsoftworksClient,
    admin: Admin,
    action_id: str,
    parameters: dict[str, Any] | None,
    message: str,
) -> None:
    with pytest.raises(ProviderRefusedError) as refused:
        await client.execute_action(action_id, parameters)

    assert refused.value.notification == message
    assert await admin.executions() == []
    assert_no_secret(refused.value)


async def test_lost_answer_to_an_execution_is_outcome_unknown(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.authenticate()
    await admin.fault(kind="drop_after_apply", method="POST", path="/actions/", count=1)

    with pytest.raises(OutcomeUnknownError) as lost:
        await client.execute_action(CLAIM)

    assert route_count(sandbox, "POST", "/actions/{api_key}/{action_id}") == 1
    assert len(await admin.executions()) == 1  # applied once, never re-sent
    assert_no_secret(lost.value)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "malformed"},
        {"kind": "truncated"},
        {"kind": "status", "status": 502, "body": "<html>Bad gateway</html>"},
        {"kind": "status", "status": 500, "body": '{"message": "Internal error"}'},
        {"kind": "status", "status": 200, "body": '{"status": "queued"}'},
        {"kind": "latency", "seconds": 1},
    ],
)
async def test_broken_answer_to_an_execution_is_outcome_unknown(
    sandbox: Sandbox,
    session: ClientSession,
    admin: Admin,
    fault: dict[str, Any],
) -> None:
    client = make_client(sandbox, session, request_timeout=0.3)
    await client.authenticate()
    await admin.fault(**fault, method="POST", path="/actions/", count=1)

    with pytest.raises(OutcomeUnknownError) as unknown:
        await client.execute_action(CLAIM)

    assert route_count(sandbox, "POST", "/actions/{api_key}/{action_id}") == 1
    assert_no_secret(unknown.value)


async def test_execution_refused_before_it_ran_is_not_outcome_unknown(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.authenticate()
    await admin.fault(
        kind="status", status=405, method="POST", path="/actions/", count=1, body=""
    )

    with pytest.raises(CannotConnectError) as refused:
        await client.execute_action(CLAIM)

    assert not isinstance(refused.value, OutcomeUnknownError)
    assert await admin.executions() == []


async def test_throttled_execution_is_rate_limited_and_not_applied(
    client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.authenticate()
    await admin.fault(
        kind="status", status=503, method="POST", path="/actions/", retry_after=7
    )

    with pytest.raises(RateLimitedError) as limited:
        await client.execute_action(CLAIM)

    assert limited.value.retry_after == 7
    assert await admin.executions() == []


async def test_execution_after_a_401_is_sent_again_once(
    sandbox: Sandbox, client: CoinsoftworksClient, admin: Admin
) -> None:
    await client.authenticate()
    await admin.expire_tokens()
    sandbox.context.clock.advance(30)

    started = await client.execute_action(CLAIM)

    assert route_count(sandbox, "POST", "/actions/{api_key}/{action_id}") == 2
    (recorded,) = await admin.executions()
    assert recorded["execution_id"] == started.execution_id
    assert await admin.auth_count() == 2


# Input checks


@pytest.mark.parametrize(
    "unsafe", ["", "../actions", "a/b", "%2F", "33?x=1", "33#top", "3 3", "..", "\n"]
)
async def test_unsafe_ids_are_refused_before_sending(
    sandbox: Sandbox, client: CoinsoftworksClient, unsafe: str
) -> None:
    with pytest.raises(InvalidInputError) as action_refused:
        await client.execute_action(unsafe)
    with pytest.raises(InvalidInputError) as execution_refused:
        await client.execution(unsafe)

    assert action_refused.value.field == "action_id"
    assert execution_refused.value.field == "execution_id"
    assert sandbox.request_count() == 0


@pytest.mark.parametrize(
    "parameters",
    [
        {"amount": float("nan")},
        {"amount": object()},
        {1: "one"},
        {"": "empty name"},
        ["amount", "1"],
    ],
)
async def test_parameters_json_cannot_carry_are_refused_before_sending(
    sandbox: Sandbox, client: CoinsoftworksClient, parameters: Any
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        await client.execute_action(SEND_BTC, parameters)

    assert refused.value.field == "parameters"
    assert sandbox.request_count() == 0


@pytest.mark.parametrize(
    ("api_key", "access_token", "field"),
    [
        ("key/../other", JOHN_TOKEN, "api_key"),
        ("", JOHN_TOKEN, "api_key"),
        (JOHN_KEY, "", "access_token"),
        (JOHN_KEY, "1_token\r\nX-Injected: yes", "access_token"),
        (JOHN_KEY, "1_token with space", "access_token"),
    ],
)
def test_unusable_credentials_are_refused_without_echoing_them(
    session: ClientSession, api_key: str, access_token: str, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        CoinsoftworksClient(session, api_key, access_token)

    assert refused.value.field == field
    assert_no_secret(refused.value, access_token or "1_token")


# What never shows a secret


async def test_reprs_and_logs_show_no_secret(
    sandbox: Sandbox,
    client: CoinsoftworksClient,
    admin: Admin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await admin.fault(kind="status", status=400, path="/settings/", count=1)
    token = await client.authenticate()
    await client.user()
    with pytest.raises(ProviderRefusedError):
        await client.settings()

    # The client's own log lines (the sandbox's server logs are not the client's).
    client_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.coinhub")
    )
    for text in (repr(client), repr(client.token_cache), repr(token), client_log):
        for secret in (JOHN_KEY, JOHN_TOKEN, token.token):
            assert secret not in text
    assert "settings: HTTP 400" in client_log  # the lines are there, without secrets
    assert repr(client) == (
        f"CoinsoftworksClient(base_url={sandbox.base_url('coinsoftworks')!r})"
    )


# The token cache on its own


def issued(expires_in: float, now: float, server_time: float | None) -> _Issued:
    expiration = datetime.fromtimestamp(now + expires_in, UTC)
    return _Issued(BearerToken("t", expiration, None), server_time)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


async def test_cache_measures_lifetime_on_the_server_clock(clock: FakeClock) -> None:
    cache = TokenCache(clock=clock)
    server_now = clock.now + 7200  # the local clock is two hours behind

    async def authenticate() -> _Issued:
        return issued(3600, server_now, server_time=server_now)

    token = await cache.get("https://a", authenticate)

    clock.now += 3539
    assert cache.fresh_token("https://a") is token
    clock.now += 2
    assert cache.fresh_token("https://a") is None


async def test_cache_without_server_time_uses_the_local_clock(
    clock: FakeClock,
) -> None:
    cache = TokenCache(clock=clock, refresh_margin=60)

    async def authenticate() -> _Issued:
        return issued(3600, clock.now, server_time=None)

    await cache.get("https://a", authenticate)
    clock.now += 3539
    assert cache.fresh_token("https://a") is not None
    clock.now += 2
    assert cache.fresh_token("https://a") is None


async def test_short_lived_token_is_used_for_half_its_life(clock: FakeClock) -> None:
    cache = TokenCache(clock=clock, refresh_margin=60)

    async def authenticate() -> _Issued:
        return issued(100, clock.now, server_time=clock.now)

    await cache.get("https://a", authenticate)
    clock.now += 49
    assert cache.fresh_token("https://a") is not None
    clock.now += 2
    assert cache.fresh_token("https://a") is None


async def test_cache_holds_only_the_issuers_token(clock: FakeClock) -> None:
    cache = TokenCache(clock=clock)

    async def authenticate() -> _Issued:
        return issued(3600, clock.now, server_time=clock.now)

    token = await cache.get("https://a", authenticate)

    assert cache.fresh_token("https://b") is None
    stale = BearerToken("other", token.expiration)
    cache.discard(stale)  # an already replaced token changes nothing
    assert cache.fresh_token("https://a") is token
    cache.discard(token)
    assert cache.fresh_token("https://a") is None
    await cache.get("https://a", authenticate)
    cache.clear()
    assert cache.fresh_token("https://a") is None
    assert repr(cache) == "TokenCache(holds_token=False)"


def test_server_time_parsing() -> None:
    assert _server_time("Tue, 15 Nov 1994 08:12:31 GMT") == 784887151
    assert _server_time("yesterday") is None
    assert _server_time(None) is None
