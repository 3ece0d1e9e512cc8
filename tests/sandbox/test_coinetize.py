"""The Coinetize sandbox spoken to directly: signing, clock, limits, state and admin."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from email.utils import parsedate_to_datetime
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, ClientSession
import pytest

from tests.conftest import Sandbox

SEED = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "seeds" / "coinetize.json").read_text()
)
TOKEN = SEED["users"][0]["auth_token"]
SEEDED = "site-0b5e11"


class Provider:
    """Signed requests to the sandbox's Coinetize API, signed here independently."""

    def __init__(self, sandbox: Sandbox, session: ClientSession) -> None:
        self.sandbox = sandbox
        self.session = session
        self.url = sandbox.url / "coinetize"
        self.admin = sandbox.url / "_admin" / "coinetize"

    def signed(
        self,
        endpoint: str,
        username: str = "webmaster",
        token: str = TOKEN,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        ts = int(self.sandbox.context.clock.now()) if timestamp is None else timestamp
        digest = hmac.new(
            token.encode(), f"{username}{endpoint}{ts}".encode(), hashlib.sha256
        )
        return {
            "username": username,
            "auth_token": token,
            "timestamp": str(ts),
            "signature": digest.hexdigest().upper(),
        }

    async def post(
        self, endpoint: str, auth: dict[str, str] | None = None, **params: Any
    ) -> tuple[ClientResponse, dict[str, Any]]:
        data = {**(auth or self.signed(endpoint)), **params}
        resp = await self.session.post(self.url / endpoint.lstrip("/"), data=data)
        return resp, await resp.json()

    async def get(
        self, endpoint: str, auth: dict[str, str] | None = None, **params: Any
    ) -> tuple[ClientResponse, dict[str, Any]]:
        query = {**(auth or self.signed(endpoint)), **params}
        resp = await self.session.get(self.url / endpoint.lstrip("/"), params=query)
        return resp, await resp.json()

    async def link(self, **params: Any) -> dict[str, Any]:
        params.setdefault("link_method", "proxy")
        _resp, body = await self.post("/link_website", **params)
        assert body["status"] == "success", body
        return body

    async def publish(self, subdomain: str, **body: Any) -> ClientResponse:
        return await self.session.post(
            self.admin / "websites" / subdomain / "publish", json=body
        )

    async def state(self, subdomain: str) -> dict[str, Any]:
        resp = await self.session.get(self.admin / "websites" / subdomain)
        state: dict[str, Any] = await resp.json()
        return state


@pytest.fixture
async def provider(sandbox: Sandbox) -> AsyncGenerator[Provider]:
    async with ClientSession() as session:
        yield Provider(sandbox, session)


# Authentication


async def test_a_correctly_signed_call_is_accepted(provider: Provider) -> None:
    resp, body = await provider.get("/list_paths", subdomain=SEEDED)

    assert resp.status == 200
    assert body == {
        "status": "success",
        "deleted_paths": [],
        "enabled_paths": ["/shop"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signature": ""}, "Missing authentication parameters"),
        ({"username": "nobody"}, "Unknown user"),
        ({"auth_token": "guess"}, "Invalid auth token"),
        ({"signature": "lowercase"}, "Invalid signature"),
        ({"signature": "0" * 64}, "Invalid signature"),
        ({"timestamp": "yesterday"}, "Invalid signature"),
    ],
)
async def test_authentication_refusals(
    provider: Provider, change: dict[str, str], message: str
) -> None:
    auth = provider.signed("/review") | change
    if change.get("signature") == "lowercase":
        auth["signature"] = provider.signed("/review")["signature"].lower()

    resp, body = await provider.get("/review", auth=auth, subdomain=SEEDED)

    assert resp.status == 401
    assert body == {"status": "error", "message": message}


async def test_document_shaped_authentication_refusals(
    provider: Provider, sandbox: Sandbox
) -> None:
    settings = await provider.session.post(
        provider.admin / "settings", json={"auth_refusal": "document"}
    )
    assert (await settings.json()) == {"auth_refusal": "document"}
    bad = await provider.session.post(
        provider.admin / "settings", json={"auth_refusal": "teapot"}
    )
    assert bad.status == 400

    for auth in (
        provider.signed("/review") | {"auth_token": "guess"},
        provider.signed("/review", username="nobody"),
    ):
        resp, body = await provider.get("/review", auth=auth, subdomain=SEEDED)
        assert resp.status == 200
        assert body == {"status": "error", "message": "Invalid login details"}
    resp, body = await provider.get(
        "/review",
        auth=provider.signed(
            "/review", timestamp=int(sandbox.context.clock.now()) - 999
        ),
        subdomain=SEEDED,
    )
    assert (resp.status, body["message"]) == (200, "Timestamp out of range")
    resp, body = await provider.get("/review", subdomain=SEEDED)
    assert body["status"] == "success"
    shown = await provider.session.get(provider.admin / "settings")
    assert (await shown.json()) == {"auth_refusal": "document"}


async def test_a_signature_for_another_endpoint_is_refused(provider: Provider) -> None:
    resp, body = await provider.get(
        "/review", auth=provider.signed("/list_paths"), subdomain=SEEDED
    )

    assert resp.status == 401
    assert body["message"] == "Invalid signature"


async def test_a_signed_non_numeric_timestamp_is_refused(provider: Provider) -> None:
    auth = provider.signed("/review")
    digest = hmac.new(TOKEN.encode(), b"webmaster/reviewsoon", hashlib.sha256)
    auth |= {"timestamp": "soon", "signature": digest.hexdigest().upper()}

    resp, body = await provider.get("/review", auth=auth, subdomain=SEEDED)

    assert resp.status == 401
    assert body["message"] == "Invalid timestamp"


async def test_timestamps_beyond_the_tolerance_are_refused_and_change_nothing(
    provider: Provider, sandbox: Sandbox
) -> None:
    now = int(sandbox.context.clock.now())
    for skew in (-310, 310):  # clear of the 300 s tolerance however slow the call
        resp, body = await provider.post(
            "/unlink_website",
            auth=provider.signed("/unlink_website", timestamp=now + skew),
            subdomain=SEEDED,
        )
        assert resp.status == 401
        assert body["message"] == "Timestamp out of range"
    resp, body = await provider.post(
        "/unlink_website",
        auth=provider.signed("/unlink_website", timestamp=now - 290),
        subdomain=SEEDED,
    )
    assert body["status"] == "success"


async def test_date_header_follows_the_sandbox_clock(
    provider: Provider, sandbox: Sandbox
) -> None:
    sandbox.context.clock.advance(3600)

    resp, body = await provider.get("/review", subdomain=SEEDED)
    await provider.session.post(
        sandbox.url / "_admin" / "faults",
        json={"kind": "status", "provider": "coinetize", "status": 503, "count": 1},
    )
    throttled, _ = await provider.get("/review", subdomain=SEEDED)

    assert body["status"] == "success"
    for answer in (resp, throttled):
        server_time = parsedate_to_datetime(answer.headers["Date"]).timestamp()
        assert abs(server_time - sandbox.context.clock.now()) < 2
    assert throttled.status == 503


@pytest.mark.parametrize(
    "sandbox_seed",
    [{"coinetize": SEED | {"rate_limit": {"requests": 3, "window": 60}}}],
)
async def test_rate_limit_per_account(provider: Provider, sandbox: Sandbox) -> None:
    for _ in range(3):
        resp, _body = await provider.get("/review", subdomain=SEEDED)
        assert resp.status == 200

    resp, body = await provider.get("/review", subdomain=SEEDED)
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert (
        body["message"]
        == f"Rate limit exceeded, try again in {resp.headers['Retry-After']} seconds"
    )

    other = provider.signed("/review", "blogger", SEED["users"][1]["auth_token"])
    resp, body = await provider.get("/review", auth=other, subdomain=SEEDED)
    assert resp.status == 200  # another account has its own budget
    assert body["message"] == f"Unknown subdomain: {SEEDED}"

    sandbox.context.clock.advance(60)
    resp, _body = await provider.get("/review", subdomain=SEEDED)
    assert resp.status == 200


# link_website


async def test_link_website_hands_out_seeded_random_identifiers(
    provider: Provider,
) -> None:
    body = await provider.link(website="www.example.com")

    assert set(body) == {
        "status",
        "subdomain",
        "verification_code",
        "link_verification_filename",
    }
    assert body["subdomain"].startswith("site-")
    assert len(body["subdomain"]) == len("site-") + 6
    state = await provider.state(body["subdomain"])
    assert state["protocol"] == "http"
    assert state["published"] == []
    assert state["verified"] is False


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"link_method": "proxy"}, "Missing parameter: website"),
        ({"website": "example.com"}, "Missing parameter: link_method"),
        (
            {"website": "example.com", "link_method": "ftp"},
            "Invalid link_method: use dns, proxy or redirect",
        ),
        (
            {"website": "1.2.3.4", "link_method": "dns"},
            "dns_website is required for link_method dns",
        ),
        (
            {"website": "example.com", "link_method": "proxy", "dns_website": "a.org"},
            "dns_website is only allowed for link_method dns",
        ),
        (
            {"website": "example.com", "link_method": "proxy", "protocol": "ftp"},
            "Invalid protocol: use http or https",
        ),
        (
            {"website": "example.com", "link_method": "proxy", "port": "http"},
            "Invalid port: use a number from 1 to 65535",
        ),
        (
            {"website": "example.com", "link_method": "proxy", "port": "70000"},
            "Invalid port: use a number from 1 to 65535",
        ),
        (
            {"website": "example.com", "link_method": "proxy", "path": "/blog/"},
            "Invalid path: include the leading but not the trailing /",
        ),
        (
            {"website": "shop.example.com", "link_method": "redirect"},
            "Website shop.example.com is already linked",
        ),
        (
            {
                "website": "example.com",
                "link_method": "proxy",
                "subdomain": "site-nope",
            },
            "Unknown subdomain: site-nope",
        ),
    ],
)
async def test_link_website_refusals(
    provider: Provider, params: dict[str, Any], message: str
) -> None:
    resp, body = await provider.post("/link_website", **params)

    assert resp.status == 200
    assert body == {"status": "error", "message": message}


async def test_changing_the_website_of_a_link_needs_a_new_verification(
    provider: Provider,
) -> None:
    body = await provider.link(
        website="www.example.com", link_method="redirect", subdomain=SEEDED
    )

    assert body["subdomain"] == SEEDED
    state = await provider.state(SEEDED)
    assert (state["website"], state["link_method"]) == ("www.example.com", "redirect")
    assert state["verified"] is False
    assert state["published"] == []


async def test_changing_only_the_method_keeps_the_verification(
    provider: Provider,
) -> None:
    await provider.link(
        website="shop.example.com",
        link_method="redirect",
        subdomain=SEEDED,
        port="8080",
    )

    state = await provider.state(SEEDED)
    assert state["verified"] is True
    assert (state["link_method"], state["port"]) == ("redirect", 8080)


# verify_website


async def test_verify_with_the_meta_tag(provider: Provider) -> None:
    subdomain = (await provider.link(website="www.example.com"))["subdomain"]
    assert (await provider.publish(subdomain, meta=True)).status == 200

    _resp, body = await provider.post("/verify_website", subdomain=subdomain)

    assert body == {
        "status": "success",
        "message": f"Subdomain {subdomain} successfully verified",
    }
    assert (await provider.state(subdomain))["published"] == ["<meta>"]


async def test_verify_with_v_file_looks_only_in_that_file(provider: Provider) -> None:
    link = await provider.link(website="www.example.com")
    await provider.publish(link["subdomain"])  # the default file

    _resp, refused = await provider.post(
        "/verify_website", subdomain=link["subdomain"], v_file="other"
    )
    _resp, body = await provider.post(
        "/verify_website",
        subdomain=link["subdomain"],
        v_file=link["link_verification_filename"],
    )

    assert refused["message"] == "Verification code not found on www.example.com"
    assert body["status"] == "success"


@pytest.mark.parametrize("sandbox_seed", [{"coinetize": SEED | {"auto_verify": True}}])
async def test_auto_verify_publishes_the_code_at_link_time(provider: Provider) -> None:
    subdomain = (await provider.link(website="www.example.com"))["subdomain"]

    _resp, body = await provider.post("/verify_website", subdomain=subdomain)

    assert body["status"] == "success"


async def test_verify_refusals(provider: Provider) -> None:
    _resp, missing = await provider.post("/verify_website")
    _resp, unknown = await provider.post("/verify_website", subdomain="site-nope")
    _resp, verified = await provider.post("/verify_website", subdomain=SEEDED)

    assert missing["message"] == "Missing parameter: subdomain"
    assert unknown["message"] == "Unknown subdomain: site-nope"
    assert verified["message"] == f"Subdomain {SEEDED} is already verified"


# unlink, paths, review


async def test_unlink_forgets_the_link(provider: Provider) -> None:
    _resp, body = await provider.post("/unlink_website", subdomain=SEEDED)

    assert body == {"status": "success", "message": f"Subdomain {SEEDED} unlinked"}
    assert (
        await provider.session.get(provider.admin / "websites" / SEEDED)
    ).status == 404


async def test_paths_add_remove_and_restore(provider: Provider) -> None:
    _resp, added = await provider.post("/add_path", subdomain=SEEDED, path="/blog")
    _resp, removed = await provider.post("/remove_path", subdomain=SEEDED, path="/shop")
    _resp, restored = await provider.post("/add_path", subdomain=SEEDED, path="/shop")

    assert added == {
        "status": "success",
        "deleted_paths": [],
        "enabled_paths": ["/shop", "/blog"],
    }
    assert removed["deleted_paths"] == ["/shop"]
    assert restored == {
        "status": "success",
        "deleted_paths": [],
        "enabled_paths": ["/blog", "/shop"],
    }


async def test_path_refusals_carry_the_paths(provider: Provider) -> None:
    paths = {"deleted_paths": [], "enabled_paths": ["/shop"]}
    _resp, enabled = await provider.post("/add_path", subdomain=SEEDED, path="/shop")
    _resp, not_enabled = await provider.post(
        "/remove_path", subdomain=SEEDED, path="/x"
    )
    _resp, invalid = await provider.post("/add_path", subdomain=SEEDED, path="shop")

    assert enabled == {
        "status": "error",
        "message": "Path /shop is already enabled",
        **paths,
    }
    assert not_enabled == {
        "status": "error",
        "message": "Path /x is not enabled",
        **paths,
    }
    assert (
        invalid["message"] == "Invalid path: include the leading but not the trailing /"
    )
    assert invalid["enabled_paths"] == ["/shop"]


async def test_paths_need_a_verified_proxy_or_redirect_link(provider: Provider) -> None:
    unverified = (await provider.link(website="www.example.com"))["subdomain"]
    dns = (
        await provider.link(
            website="1.2.3.4", link_method="dns", dns_website="example.org"
        )
    )["subdomain"]
    await provider.publish(dns)
    await provider.post("/verify_website", subdomain=dns)

    _resp, not_verified = await provider.get("/list_paths", subdomain=unverified)
    _resp, not_supported = await provider.post("/add_path", subdomain=dns, path="/a")

    assert not_verified == {
        "status": "error",
        "message": f"Subdomain {unverified} is not verified",
        "deleted_paths": [],
        "enabled_paths": [],
    }
    assert (
        not_supported["message"]
        == "Paths are only available for the proxy and redirect link methods"
    )


async def test_review_of_dns_and_redirect_links(provider: Provider) -> None:
    dns = (
        await provider.link(
            website="198.51.100.7", link_method="dns", dns_website="www.example.org"
        )
    )["subdomain"]
    redirect = (
        await provider.link(
            website="www.example.com",
            link_method="redirect",
            protocol="https",
            path="/blog",
        )
    )["subdomain"]

    _resp, dns_review = await provider.get("/review", subdomain=dns)
    _resp, redirect_review = await provider.get("/review", subdomain=redirect)

    assert dns_review["a_record"] == {
        "ip_address": "203.0.113.80",
        "website": "www.example.org",
    }
    assert r"^www\.example\.org$" in dns_review["htaccess_code"]
    assert "a_record" not in redirect_review
    assert (
        f"RewriteRule ^blog/?(.*)$ https://{redirect}.coinetize.com/$1 [R=302,L]"
        in redirect_review["htaccess_code"]
    )


async def test_requests_are_counted_by_route(
    provider: Provider, sandbox: Sandbox
) -> None:
    await provider.get("/review", subdomain=SEEDED)
    await provider.post("/add_path", subdomain=SEEDED, path="/a")

    assert sandbox.context.requests[("coinetize", "GET", "/coinetize/review")] == 1
    assert sandbox.context.requests[("coinetize", "POST", "/coinetize/add_path")] == 1


# Admin


async def test_admin_lists_websites_per_user(provider: Provider) -> None:
    subdomain = (await provider.link(website="www.example.com"))["subdomain"]

    by_owner = await (await provider.session.get(provider.admin / "websites")).json()

    assert set(by_owner) == {"webmaster", "blogger"}
    assert [site["subdomain"] for site in by_owner["webmaster"]] == [SEEDED, subdomain]
    assert by_owner["blogger"] == []
    assert by_owner["webmaster"][0]["verified"] is True


async def test_admin_publish_refusals(provider: Provider) -> None:
    assert (await provider.publish("site-nope")).status == 404
    resp = await provider.session.post(
        provider.admin / "websites" / SEEDED / "publish", json=["meta"]
    )
    assert resp.status == 400
    assert (await provider.state(SEEDED))["published"] == ["coinetize-5e0c7a21"]


async def test_admin_creates_users_who_can_sign(provider: Provider) -> None:
    users = provider.admin / "users"
    created = await provider.session.post(users, json={"username": "newcomer"})
    chosen = await provider.session.post(
        users, json={"username": "chosen", "auth_token": "tok-1"}
    )
    duplicate = await provider.session.post(users, json={"username": "newcomer"})
    nameless = await provider.session.post(users, json={"auth_token": "x"})

    assert created.status == 201
    assert (await chosen.json()) == {"username": "chosen", "auth_token": "tok-1"}
    assert duplicate.status == 409
    assert nameless.status == 400
    assert await (await provider.session.get(users)).json() == [
        "blogger",
        "chosen",
        "newcomer",
        "webmaster",
    ]
    token = (await created.json())["auth_token"]
    _resp, body = await provider.get(
        "/review", auth=provider.signed("/review", "newcomer", token), subdomain=SEEDED
    )
    assert body["message"] == f"Unknown subdomain: {SEEDED}"  # signed in, not the owner


async def test_admin_rotates_a_token(provider: Provider) -> None:
    resp = await provider.session.post(provider.admin / "users" / "webmaster" / "token")
    new_token = (await resp.json())["auth_token"]

    _resp, old = await provider.get("/review", subdomain=SEEDED)
    _resp, new = await provider.get(
        "/review", auth=provider.signed("/review", token=new_token), subdomain=SEEDED
    )

    assert new_token != TOKEN
    assert old["message"] == "Invalid auth token"
    assert new["status"] == "success"
    missing = await provider.session.post(provider.admin / "users" / "nobody" / "token")
    assert missing.status == 404
