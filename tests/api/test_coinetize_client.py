"""The Coinetize client against the sandbox, over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import hashlib
import hmac
import json
from pathlib import Path
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from aiohttp import ClientSession, TraceConfig, TraceRequestChunkSentParams
import pytest

from custom_components.coinhub.api.coinetize import (
    ARecord,
    CoinetizeClient,
    LinkMethod,
    Paths,
    PathsRefusedError,
    TimestampRefusedError,
)
from custom_components.coinhub.api.coinetize.client import (
    CREDENTIALS_PROBE_SUBDOMAIN,
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
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "coinetize.json").read_text()
)
TOKENS = {user["username"]: user["auth_token"] for user in SEED["users"]}
WEBMASTER_TOKEN = TOKENS["webmaster"]
SEEDED_SUBDOMAIN = "site-0b5e11"  # a verified proxy website of "webmaster", path /shop


@pytest.fixture
async def session() -> AsyncGenerator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.fixture
def client(sandbox: Sandbox, session: ClientSession) -> CoinetizeClient:
    return make_client(sandbox, session)


def make_client(
    sandbox: Sandbox,
    session: ClientSession,
    username: str = "webmaster",
    auth_token: str = WEBMASTER_TOKEN,
    **kwargs: Any,
) -> CoinetizeClient:
    kwargs.setdefault("request_timeout", 5)
    return CoinetizeClient(
        session,
        username,
        auth_token,
        base_url=sandbox.base_url("coinetize"),
        **kwargs,
    )


class Admin:
    """The sandbox's admin API, as the tests use it."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.url = sandbox.url / "_admin"
        self.session = session

    async def fault(self, **rule: Any) -> None:
        resp = await self.session.post(
            self.url / "faults", json={"provider": "coinetize", **rule}
        )
        assert resp.status == 201

    async def websites(self, owner: str = "webmaster") -> list[dict[str, Any]]:
        resp = await self.session.get(self.url / "coinetize" / "websites")
        by_owner: dict[str, list[dict[str, Any]]] = await resp.json()
        return by_owner[owner]

    async def website(self, subdomain: str) -> dict[str, Any]:
        resp = await self.session.get(self.url / "coinetize" / "websites" / subdomain)
        assert resp.status == 200
        state: dict[str, Any] = await resp.json()
        return state

    async def publish(self, subdomain: str, **body: Any) -> None:
        resp = await self.session.post(
            self.url / "coinetize" / "websites" / subdomain / "publish", json=body
        )
        assert resp.status == 200


@pytest.fixture
def admin(sandbox: Sandbox, session: ClientSession) -> Admin:
    return Admin(sandbox, session)


def route_count(sandbox: Sandbox, method: str, endpoint: str) -> int:
    return sandbox.context.requests[("coinetize", method, f"/coinetize{endpoint}")]


def assert_no_secret(err: BaseException, *secrets: str) -> None:
    """Neither the message, the repr nor a chained error carries a secret."""
    for text in (str(err), repr(err), str(err.args)):
        for secret in secrets:
            assert secret not in text
    assert err.__cause__ is None
    assert err.__suppress_context__ or err.__context__ is None


# link_website


async def test_link_website_hands_out_a_subdomain_the_sandbox_remembers(
    client: CoinetizeClient, admin: Admin
) -> None:
    result = await client.link_website(
        "www.example.com", LinkMethod.PROXY, protocol="HTTPS", path="/blog", port=8443
    )

    assert result.subdomain.startswith("site-")
    assert len(result.verification_code) == 32
    assert result.link_verification_filename.startswith("coinetize-")
    state = await admin.website(result.subdomain)
    assert state["owner"] == "webmaster"
    assert state["verification_code"] == result.verification_code
    assert (state["website"], state["link_method"]) == ("www.example.com", "proxy")
    assert (state["protocol"], state["path"], state["port"]) == ("https", "/blog", 8443)
    assert state["verified"] is False


async def test_link_website_dns_and_its_review(
    client: CoinetizeClient, admin: Admin
) -> None:
    result = await client.link_website(
        "198.51.100.7", "dns", dns_website="www.example.org"
    )

    review = await client.review(result.subdomain)
    assert review.a_record == ARecord(
        ip_address="203.0.113.80", website="www.example.org"
    )
    assert review.htaccess_code is not None
    assert f"{result.subdomain}.coinetize.com" in review.htaccess_code
    assert (await admin.website(result.subdomain))["dns_website"] == "www.example.org"


async def test_link_website_with_subdomain_changes_the_existing_link(
    client: CoinetizeClient, admin: Admin
) -> None:
    first = await client.link_website("www.example.com", "proxy")

    changed = await client.link_website(
        "www.example.com", "redirect", subdomain=first.subdomain
    )

    assert changed == first  # same subdomain, code and file name
    sites = await admin.websites()
    assert [site["subdomain"] for site in sites].count(first.subdomain) == 1
    assert (await admin.website(first.subdomain))["link_method"] == "redirect"


async def test_link_website_refusals_are_provider_refused(
    client: CoinetizeClient, admin: Admin
) -> None:
    await client.link_website("www.example.com", "proxy")
    with pytest.raises(ProviderRefusedError) as duplicate:
        await client.link_website("www.example.com", "redirect")
    assert duplicate.value.notification == "Website www.example.com is already linked"

    with pytest.raises(ProviderRefusedError) as no_dns_website:
        await client.link_website("198.51.100.7", "dns")
    assert no_dns_website.value.notification == (
        "dns_website is required for link_method dns"
    )

    with pytest.raises(ProviderRefusedError, match="Unknown subdomain: site-ffffff"):
        await client.link_website("www.example.net", "proxy", subdomain="site-ffffff")
    assert len(await admin.websites()) == 2  # the seeded one and the first link


# verify_website


async def test_verify_website_needs_the_published_code(
    client: CoinetizeClient, admin: Admin
) -> None:
    link = await client.link_website("www.example.com", "proxy")
    with pytest.raises(ProviderRefusedError) as not_found:
        await client.verify_website(link.subdomain)
    assert not_found.value.notification == (
        "Verification code not found on www.example.com"
    )

    await admin.publish(link.subdomain)
    result = await client.verify_website(link.subdomain)

    assert result.message == f"Subdomain {link.subdomain} successfully verified"
    assert (await admin.website(link.subdomain))["verified"] is True
    with pytest.raises(ProviderRefusedError, match="already verified"):
        await client.verify_website(link.subdomain)


async def test_verify_website_in_a_named_file(
    client: CoinetizeClient, admin: Admin
) -> None:
    link = await client.link_website("www.example.com", "redirect")
    await admin.publish(link.subdomain, filename="my-code")

    with pytest.raises(ProviderRefusedError, match="Verification code not found"):
        await client.verify_website(
            link.subdomain
        )  # looks in the meta tag and default file
    result = await client.verify_website(link.subdomain, v_file="my-code")

    assert result.message.endswith("successfully verified")


async def test_verify_website_of_an_unknown_subdomain(client: CoinetizeClient) -> None:
    with pytest.raises(ProviderRefusedError) as unknown:
        await client.verify_website("site-000000")
    assert unknown.value.notification == "Unknown subdomain: site-000000"


# unlink_website


async def test_unlink_website_verified_and_unverified(
    client: CoinetizeClient, admin: Admin
) -> None:
    link = await client.link_website("www.example.com", "proxy")

    unverified = await client.unlink_website(link.subdomain)
    verified = await client.unlink_website(SEEDED_SUBDOMAIN)

    assert unverified.message == f"Subdomain {link.subdomain} unlinked"
    assert verified.message == f"Subdomain {SEEDED_SUBDOMAIN} unlinked"
    assert await admin.websites() == []
    with pytest.raises(ProviderRefusedError, match="Unknown subdomain"):
        await client.unlink_website(link.subdomain)


async def test_another_accounts_subdomain_is_unknown(
    sandbox: Sandbox, session: ClientSession, admin: Admin
) -> None:
    blogger = make_client(sandbox, session, "blogger", TOKENS["blogger"])

    with pytest.raises(ProviderRefusedError, match="Unknown subdomain"):
        await blogger.unlink_website(SEEDED_SUBDOMAIN)
    assert len(await admin.websites()) == 1


# add_path, remove_path, list_paths


async def test_paths_lifecycle(client: CoinetizeClient) -> None:
    assert await client.list_paths(SEEDED_SUBDOMAIN) == Paths(("/shop",), ())

    added = await client.add_path(SEEDED_SUBDOMAIN, "/blog")
    removed = await client.remove_path(SEEDED_SUBDOMAIN, "/shop")

    assert added == Paths(("/shop", "/blog"), ())
    assert removed == Paths(("/blog",), ("/shop",))
    assert await client.list_paths(SEEDED_SUBDOMAIN) == removed


async def test_path_refusals_carry_the_current_paths(client: CoinetizeClient) -> None:
    with pytest.raises(PathsRefusedError) as enabled:
        await client.add_path(SEEDED_SUBDOMAIN, "/shop")
    assert enabled.value.notification == "Path /shop is already enabled"
    assert enabled.value.paths == Paths(("/shop",), ())

    with pytest.raises(PathsRefusedError) as missing:
        await client.remove_path(SEEDED_SUBDOMAIN, "/nowhere")
    assert missing.value.notification == "Path /nowhere is not enabled"
    assert missing.value.paths == Paths(("/shop",), ())

    with pytest.raises(PathsRefusedError) as unknown:
        await client.add_path("site-000000", "/shop")
    assert unknown.value.paths is None  # nothing to report for an unknown website


async def test_paths_need_a_verified_proxy_or_redirect_website(
    client: CoinetizeClient, admin: Admin
) -> None:
    unverified = await client.link_website("www.example.com", "proxy")
    dns = await client.link_website("198.51.100.7", "dns", dns_website="example.org")
    await admin.publish(dns.subdomain, meta=True)
    await client.verify_website(dns.subdomain)

    with pytest.raises(PathsRefusedError, match="is not verified"):
        await client.add_path(unverified.subdomain, "/blog")
    with pytest.raises(ProviderRefusedError, match="is not verified"):
        await client.list_paths(unverified.subdomain)
    with pytest.raises(ProviderRefusedError, match="Unknown subdomain"):
        await client.list_paths("site-000000")
    with pytest.raises(ProviderRefusedError, match="only available for the proxy"):
        await client.list_paths(dns.subdomain)


# review


async def test_review_of_a_proxy_website_has_no_a_record(
    client: CoinetizeClient,
) -> None:
    review = await client.review(SEEDED_SUBDOMAIN)

    assert review.a_record is None
    assert review.htaccess_code is not None
    assert "https://site-0b5e11.coinetize.com/$1 [P,L]" in review.htaccess_code


# validate_credentials and authentication


async def test_validate_credentials_accepts_good_ones_with_one_request(
    client: CoinetizeClient, sandbox: Sandbox
) -> None:
    await client.validate_credentials()

    assert sandbox.request_count("coinetize") == 1
    assert route_count(sandbox, "GET", "/review") == 1


@pytest.mark.parametrize(
    ("username", "auth_token", "message"),
    [
        ("webmaster", "not-the-token-0000", "Invalid auth token"),
        ("nobody", "not-the-token-0000", "Unknown user"),
        ("blogger", WEBMASTER_TOKEN, "Invalid auth token"),
    ],
)
async def test_bad_credentials_raise_authentication_error_without_secrets(
    sandbox: Sandbox,
    admin: Admin,
    username: str,
    auth_token: str,
    message: str,
) -> None:
    client = make_client(sandbox, admin.session, username, auth_token)
    now = int(time.time())
    signatures = [
        hmac.new(
            auth_token.encode(), f"{username}/review{ts}".encode(), hashlib.sha256
        ).hexdigest()
        for ts in range(now - 5, now + 6)
    ]

    with pytest.raises(AuthenticationError) as refused:
        await client.validate_credentials()
    with pytest.raises(AuthenticationError) as on_write:
        await client.link_website("www.example.com", "proxy")

    assert message in str(refused.value)
    for err in (refused.value, on_write.value):
        assert_no_secret(
            err, auth_token, *signatures, *(sig.upper() for sig in signatures)
        )
    assert auth_token not in repr(client)
    assert [site["subdomain"] for site in await admin.websites()] == [SEEDED_SUBDOMAIN]


async def test_signature_on_the_wire_is_the_documented_hmac(
    sandbox: Sandbox,
) -> None:
    sent: list[bytes] = []
    urls: list[str] = []

    async def on_chunk(
        session: ClientSession,
        context: SimpleNamespace,
        params: TraceRequestChunkSentParams,
    ) -> None:
        sent.append(params.chunk)

    async def on_start(
        session: ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        urls.append(str(params.url))

    trace = TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)
    trace.on_request_start.append(on_start)
    async with ClientSession(trace_configs=[trace]) as session:
        client = make_client(sandbox, session)
        await client.link_website("www.example.com", "proxy")
        await client.list_paths(SEEDED_SUBDOMAIN)

    form = {key: values[0] for key, values in parse_qs(b"".join(sent).decode()).items()}
    query = {
        key: values[0] for key, values in parse_qs(urls[-1].split("?", 1)[1]).items()
    }
    for params, endpoint in ((form, "/link_website"), (query, "/list_paths")):
        assert params["username"] == "webmaster"
        assert params["auth_token"] == WEBMASTER_TOKEN
        assert abs(int(params["timestamp"]) - time.time()) < 5
        expected = hmac.new(
            WEBMASTER_TOKEN.encode(),
            f"webmaster{endpoint}{params['timestamp']}".encode(),
            hashlib.sha256,
        ).hexdigest()
        assert params["signature"] == expected.upper()
    assert form["website"] == "www.example.com"
    assert form["link_method"] == "proxy"
    assert query["subdomain"] == SEEDED_SUBDOMAIN


# Clock skew


async def test_clock_skew_is_learned_from_date_and_the_call_retried_once(
    sandbox: Sandbox, client: CoinetizeClient, admin: Admin
) -> None:
    sandbox.context.clock.advance(3600)

    result = await client.link_website("www.example.com", "proxy")

    assert route_count(sandbox, "POST", "/link_website") == 2  # refused, then accepted
    assert [site["subdomain"] for site in await admin.websites()] == [
        SEEDED_SUBDOMAIN,
        result.subdomain,
    ]
    assert 3598 < client.clock_offset < 3602
    await client.list_paths(SEEDED_SUBDOMAIN)  # the next call is right the first time
    assert route_count(sandbox, "GET", "/list_paths") == 1


@pytest.mark.parametrize(
    "sandbox_seed", [{"coinetize": SEED | {"timestamp_tolerance": -1}}]
)
async def test_a_timestamp_refused_twice_is_not_retried_again(
    sandbox: Sandbox, client: CoinetizeClient, admin: Admin
) -> None:
    with pytest.raises(TimestampRefusedError, match="Timestamp out of range"):
        await client.link_website("www.example.com", "proxy")
    with pytest.raises(TimestampRefusedError):
        await client.validate_credentials()  # says nothing about the credentials

    assert route_count(sandbox, "POST", "/link_website") == 2
    assert len(await admin.websites()) == 1


async def test_a_timestamp_refusal_that_teaches_nothing_is_not_retried(
    sandbox: Sandbox, client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(
        kind="status",
        status=401,
        body='{"status": "error", "message": "Timestamp out of range"}',
        count=1,
    )
    client._clock_offset = 10**9  # no Date can match this: any answer teaches something
    client._learn_clock = lambda date_header: None  # type: ignore[method-assign]

    with pytest.raises(TimestampRefusedError):
        await client.list_paths(SEEDED_SUBDOMAIN)
    assert route_count(sandbox, "GET", "/list_paths") == 1


def test_unreadable_date_headers_teach_nothing(client: CoinetizeClient) -> None:
    for header in (None, "", "yesterday", "Mon, 99 Foo 2026 99:99:99 GMT"):
        client._learn_clock(header)
        assert client.clock_offset == 0.0
    client._learn_clock("Thu, 01 Jan 2099 00:00:00 GMT")
    assert client.clock_offset > 0


# Lost answers and broken bodies


async def test_link_answer_lost_after_apply_is_outcome_unknown(
    sandbox: Sandbox, client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(kind="drop_after_apply", path="/link_website", count=1)

    with pytest.raises(OutcomeUnknownError) as lost:
        await client.link_website("www.example.com", "proxy")

    assert route_count(sandbox, "POST", "/link_website") == 1  # never re-sent
    sites = await admin.websites()
    assert [site["website"] for site in sites] == [
        "shop.example.com",
        "www.example.com",
    ]
    assert_no_secret(lost.value, WEBMASTER_TOKEN)


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_broken_answer_to_a_write_is_outcome_unknown(
    sandbox: Sandbox, client: CoinetizeClient, admin: Admin, kind: str
) -> None:
    await admin.fault(kind=kind, path="/add_path", count=1)

    with pytest.raises(OutcomeUnknownError):
        await client.add_path(SEEDED_SUBDOMAIN, "/blog")

    assert (await admin.website(SEEDED_SUBDOMAIN))["enabled_paths"] == [
        "/shop",
        "/blog",
    ]
    assert route_count(sandbox, "POST", "/add_path") == 1


@pytest.mark.parametrize("kind", ["malformed", "truncated", "drop_after_apply"])
async def test_broken_answer_to_a_read_cannot_connect(
    client: CoinetizeClient, admin: Admin, kind: str
) -> None:
    await admin.fault(kind=kind, path="/list_paths", count=3)

    with pytest.raises(CannotConnectError) as broken:
        await client.list_paths(SEEDED_SUBDOMAIN)
    assert_no_secret(broken.value, WEBMASTER_TOKEN)


async def test_incomplete_success_of_a_write_is_outcome_unknown(
    client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(
        kind="status", status=200, body='{"status": "success"}', path="/link_website"
    )

    with pytest.raises(OutcomeUnknownError, match="subdomain"):
        await client.link_website("www.example.com", "proxy")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, '{"status": "success", "a_record": "203.0.113.80"}'),
        (200, '{"status": "maybe"}'),
        (200, "[1, 2]"),
        (500, '{"status": "success"}'),
        (502, "<html>Bad gateway</html>"),
    ],
)
async def test_unreadable_answer_to_a_read_cannot_connect(
    client: CoinetizeClient, admin: Admin, status: int, body: str
) -> None:
    await admin.fault(kind="status", status=status, body=body, path="/review")

    with pytest.raises(CannotConnectError):
        await client.review(SEEDED_SUBDOMAIN)


async def test_server_error_without_a_coinetize_body_on_a_write_is_outcome_unknown(
    client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(
        kind="status", status=500, body="<html>Internal error</html>", path="/unlink"
    )

    with pytest.raises(OutcomeUnknownError, match="HTTP 500"):
        await client.unlink_website(SEEDED_SUBDOMAIN)


async def test_server_error_with_an_error_body_on_a_write_is_outcome_unknown(
    client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(kind="status", status=502, path="/unlink")

    with pytest.raises(OutcomeUnknownError, match="HTTP 502"):
        await client.unlink_website(SEEDED_SUBDOMAIN)


async def test_wrong_base_url_on_a_write_cannot_connect(
    sandbox: Sandbox, session: ClientSession
) -> None:
    client = CoinetizeClient(
        session, "webmaster", WEBMASTER_TOKEN, base_url=str(sandbox.url / "nothing")
    )

    with pytest.raises(CannotConnectError, match="HTTP 404"):
        await client.link_website("www.example.com", "proxy")


async def test_unreachable_server_cannot_connect_without_leaking_the_url(
    socket_enabled: None, session: ClientSession, unused_tcp_port: int
) -> None:
    client = CoinetizeClient(
        session,
        "webmaster",
        WEBMASTER_TOKEN,
        base_url=f"http://127.0.0.1:{unused_tcp_port}",
    )

    for call in (client.review(SEEDED_SUBDOMAIN), client.unlink_website("site-1")):
        with pytest.raises(CannotConnectError) as refused:
            await call
        assert_no_secret(refused.value, WEBMASTER_TOKEN, "signature=")


async def test_timeouts(sandbox: Sandbox, session: ClientSession, admin: Admin) -> None:
    client = make_client(sandbox, session, request_timeout=0.2)
    await admin.fault(kind="latency", seconds=1, count=2)

    with pytest.raises(CannotConnectError, match="TimeoutError"):
        await client.list_paths(SEEDED_SUBDOMAIN)
    with pytest.raises(OutcomeUnknownError):
        await client.remove_path(SEEDED_SUBDOMAIN, "/shop")


# Rate limits and other refusals


@pytest.mark.parametrize("status", [429, 503])
async def test_throttled_status_is_rate_limited(
    client: CoinetizeClient, admin: Admin, status: int
) -> None:
    await admin.fault(kind="status", status=status, retry_after=7, count=1)

    with pytest.raises(RateLimitedError) as limited:
        await client.link_website("www.example.com", "proxy")

    assert limited.value.retry_after == 7
    assert len(await admin.websites()) == 1


@pytest.mark.parametrize(
    "sandbox_seed",
    [{"coinetize": SEED | {"rate_limit": {"requests": 2, "window": 60}}}],
)
async def test_the_sandbox_rate_limit_is_rate_limited(
    sandbox: Sandbox, client: CoinetizeClient
) -> None:
    await client.list_paths(SEEDED_SUBDOMAIN)
    await client.review(SEEDED_SUBDOMAIN)

    with pytest.raises(RateLimitedError) as limited:
        await client.list_paths(SEEDED_SUBDOMAIN)
    assert limited.value.retry_after is not None
    assert 0 < limited.value.retry_after <= 60

    sandbox.context.clock.advance(61)
    client._clock_offset += 61  # as a device whose clock is right
    assert await client.list_paths(SEEDED_SUBDOMAIN) == Paths(("/shop",), ())


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (200, "Rate limit exceeded", RateLimitedError),
        (401, "Session expired", AuthenticationError),
        (200, "Authentication failed", AuthenticationError),
        # A failing server is no refusal, whatever its body says.
        (500, "Service temporarily unavailable", CannotConnectError),
        (502, "Bad gateway", CannotConnectError),
    ],
)
async def test_error_messages_are_classified(
    client: CoinetizeClient,
    admin: Admin,
    status: int,
    message: str,
    error: type[CoinHubError],
) -> None:
    await admin.fault(
        kind="status",
        status=status,
        body=json.dumps({"status": "error", "message": message}),
    )

    with pytest.raises(error) as refused:
        await client.list_paths(SEEDED_SUBDOMAIN)
    assert message in str(refused.value)


async def test_a_provider_message_never_echoes_the_token(
    client: CoinetizeClient, admin: Admin
) -> None:
    await admin.fault(
        kind="status",
        status=200,
        body=json.dumps(
            {"status": "error", "message": f"no access for {WEBMASTER_TOKEN}"}
        ),
    )

    with pytest.raises(ProviderRefusedError) as refused:
        await client.review(SEEDED_SUBDOMAIN)
    assert str(refused.value) == "no access for ***"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "message": "No such path"},
        {"status": "error", "enabled_paths": "/shop"},
    ],
)
async def test_path_refusal_without_readable_paths(
    client: CoinetizeClient, admin: Admin, body: dict[str, Any]
) -> None:
    await admin.fault(kind="status", status=200, body=json.dumps(body))

    with pytest.raises(PathsRefusedError) as refused:
        await client.remove_path(SEEDED_SUBDOMAIN, "/shop")
    assert refused.value.paths is None
    assert refused.value.notification in {"No such path", "unknown error"}


# Input checks: refused before anything is sent


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.link_website("www.example.com", "ftp"), "link_method"),
        (lambda c: c.link_website("", "proxy"), "website"),
        (lambda c: c.link_website("http://example.com/x", "proxy"), "website"),
        (lambda c: c.link_website("a" * 254, "proxy"), "website"),
        (lambda c: c.link_website("www.example.com\n", "proxy"), "website"),
        (
            lambda c: c.link_website("example.com", "proxy", dns_website="x.org"),
            "dns_website",
        ),
        (lambda c: c.link_website("1.2.3.4", "dns", dns_website="a b"), "dns_website"),
        (lambda c: c.link_website("example.com", "proxy", protocol="ftp"), "protocol"),
        (lambda c: c.link_website("example.com", "proxy", port=0), "port"),
        (lambda c: c.link_website("example.com", "proxy", port=65536), "port"),
        (lambda c: c.link_website("example.com", "proxy", port=True), "port"),
        (lambda c: c.link_website("example.com", "proxy", path="blog"), "path"),
        (
            lambda c: c.link_website("example.com", "proxy", subdomain="a/b"),
            "subdomain",
        ),
        (lambda c: c.verify_website("site-1", v_file="code.txt"), "v_file"),
        (lambda c: c.verify_website("site-1", v_file="../code"), "v_file"),
        (lambda c: c.verify_website("site-1", v_file=".."), "v_file"),
        (lambda c: c.unlink_website("site-1\x00"), "subdomain"),
        (lambda c: c.unlink_website(""), "subdomain"),
        (lambda c: c.add_path("site-1", "/blog/"), "path"),
        (lambda c: c.add_path("site-1", "/"), "path"),
        (lambda c: c.add_path("site-1", "/a/../b"), "path"),
        (lambda c: c.add_path("site-1", "/a?b=1"), "path"),
        (lambda c: c.add_path("site-1", "/" + "a" * 255), "path"),
        (lambda c: c.remove_path("site-1", "/a\tb"), "path"),
        (lambda c: c.list_paths("site 1"), "subdomain"),
        (lambda c: c.review("x" * 254), "subdomain"),
    ],
)
async def test_invalid_input_is_refused_before_sending(
    sandbox: Sandbox, client: CoinetizeClient, call: Any, field: str
) -> None:
    with pytest.raises(InvalidInputError) as invalid:
        await call(client)

    assert invalid.value.field == field
    assert sandbox.request_count("coinetize") == 0


@pytest.mark.parametrize(
    ("username", "auth_token"), [("", "token"), ("user", ""), ("a b", "t")]
)
def test_credentials_are_checked_when_the_client_is_made(
    username: str, auth_token: str
) -> None:
    with pytest.raises(InvalidInputError):
        CoinetizeClient(None, username, auth_token)  # type: ignore[arg-type]


async def test_client_repr_names_the_account_only(client: CoinetizeClient) -> None:
    assert client.username == "webmaster"
    assert "webmaster" in repr(client)
    assert WEBMASTER_TOKEN not in repr(client)


def test_the_credentials_probe_cannot_be_a_real_subdomain() -> None:
    assert "_" in CREDENTIALS_PROBE_SUBDOMAIN  # not allowed in a host name
