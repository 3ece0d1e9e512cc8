"""Every action with bad input, against entries that point at the real sandbox.

Each call must fail with the refusal it stands for (a ``ServiceValidationError`` of
CoinHub with its translation key, or the schema's ``Invalid`` at the field of the wrong
type or the missing field) and no request may reach the sandbox: nothing is sent that
could change which endpoint is called or what it means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.const import (
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_PROVIDER,
    DOMAIN,
)
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BOB,
    JOHN,
    WEBMASTER,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    transfers_allowed,
)
from tests.conftest import Sandbox


@dataclass(frozen=True, slots=True)
class Schema:
    """A refusal by the action's schema, at one field."""

    field: str


# What a call is refused with: CoinHub's translation key, or the schema at a field.
type Refusal = str | Schema


# Whatever could change which endpoint a URL names, or how it is parsed.
UNSAFE_TEXT = [
    "a/b",
    "..",
    "../../transfer/auth/bob@example.com/1/x",
    "a%2Fb",
    "%2F",
    "a?b",
    "a#b",
    "a b",
    " leading",
    "trailing ",
    "tab\there",
    "new\nline",
    "nul\x00",
    "bell\x07",
    "del\x7f",
    "",
]
OVERSIZE = "x" * 300

BAD_AMOUNTS = [
    -1,
    0,
    "0",
    -0.5,
    float("nan"),
    "NaN",
    float("inf"),
    "-Infinity",
    0.123456789,
    "1.000000001",
    0.0000001,
    "1e-7",
    "0.0000009",
]
BAD_RECIPIENTS = [
    *UNSAFE_TEXT,
    "bob",
    "bob@",
    "@example.com",
    "bob@example",
    "bob@@example.com",
    "bob@example.com/../x",
    "bob%40example.com",
    "bob @example.com",
    "bob@example.com\n",
    f"{'a' * 250}@example.com",
    "04abc",  # too short to be a public key
    "g" * 130,  # not hex
    BOB["public_key"] + "/",
]
BAD_REFERENCES = [*UNSAFE_TEXT, "with space", "semi;colon", "x" * 256, "ünïcode"]
BAD_COIN_CODES = [*UNSAFE_TEXT, OVERSIZE, "code.with.dots"]
BAD_SUBDOMAINS = [*UNSAFE_TEXT, OVERSIZE, "a_b", "a..b", ".lead", "trail."]
BAD_PATHS = [
    "blog",
    "/blog/",
    "/",
    "/a/../b",
    "/..",
    "/a?x=1",
    "/a#top",
    "/a b",
    "/a\tb",
    "/a\x00",
    "",
    "/" + OVERSIZE,
]


class Accounts:
    """One loaded entry per provider and a website linked through CoinHub."""

    def __init__(self, hass: HomeAssistant, sandbox: Sandbox) -> None:
        """Keep Home Assistant and the sandbox the entries point at."""
        self.hass = hass
        self.sandbox = sandbox
        self.entries: dict[str, MockConfigEntry] = {}
        self.subdomain = ""

    async def set_up(self) -> None:
        """Set up the three entries and link a verified proxy website."""
        for entry in (
            # Transfers allowed, so only the input can refuse.
            jsecoin_entry(self.sandbox, ALICE, options=transfers_allowed()),
            coinetize_entry(self.sandbox),
            # Wallet actions allowed, so Send BTC reaches its parameter checks.
            coinsoftworks_entry(
                self.sandbox, options={CONF_ALLOW_WALLET_ACTIONS: True}
            ),
        ):
            await setup_entry(self.hass, entry)
            self.entries[entry.data[CONF_PROVIDER]] = entry
        link = await self.hass.services.async_call(
            DOMAIN,
            "link_website",
            {
                "config_entry_id": self.entries["coinetize"].entry_id,
                "website": "bad-input.example.com",
                "link_method": "proxy",
            },
            blocking=True,
            return_response=True,
        )
        assert link is not None
        self.subdomain = str(link["subdomain"])
        await self.hass.async_block_till_done()

    async def refused(
        self, provider: str, action: str, data: dict[str, Any], expected: Refusal
    ) -> None:
        """Call ``action`` and assert the ``expected`` refusal, having sent nothing."""
        before = self.sandbox.request_count(provider)
        with pytest.raises((ServiceValidationError, vol.Invalid)) as err:
            await self.hass.services.async_call(
                DOMAIN,
                action,
                {"config_entry_id": self.entries[provider].entry_id, **data},
                blocking=True,
                return_response=True,
            )
        if isinstance(expected, Schema):
            assert isinstance(err.value, vol.Invalid), (action, data, err.value)
            assert err.value.path == [expected.field], (action, data)
        else:
            assert isinstance(err.value, ServiceValidationError), (action, data)
            assert err.value.translation_domain == DOMAIN
            assert err.value.translation_key == expected, (action, data)
            assert str(err.value) != expected  # a message a person can read
        assert self.sandbox.request_count(provider) == before, (action, data)
        for secret in (ALICE["api_key"], WEBMASTER["auth_token"], JOHN["api_key"]):
            assert secret not in str(err.value)


@pytest.fixture
async def accounts(hass: HomeAssistant, sandbox: Sandbox) -> Accounts:
    """The three sandbox accounts, set up."""
    loaded = Accounts(hass, sandbox)
    await loaded.set_up()
    return loaded


def transfer(**changes: Any) -> dict[str, Any]:
    """Return a valid transfer with ``changes``."""
    return {"recipient": BOB["email"], "amount": 1, "reference": "ok", **changes}


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_bad_amounts(accounts: Accounts, amount: Any) -> None:
    """Negative, zero, NaN, infinite, too fine or too small amounts are refused."""
    await accounts.refused(
        "jsecoin", "transfer", transfer(amount=amount), "invalid_amount"
    )
    await accounts.refused(
        "jsecoin", "export_coins", {"amount": amount}, "invalid_amount"
    )


@pytest.mark.parametrize("amount", ["abc", "", True, None, [1], {"v": 1}, "1,5"])
async def test_amounts_that_are_not_numbers(accounts: Accounts, amount: Any) -> None:
    """A value that is not a number fails the schema."""
    await accounts.refused(
        "jsecoin", "transfer", transfer(amount=amount), Schema("amount")
    )
    await accounts.refused(
        "jsecoin", "export_coins", {"amount": amount}, Schema("amount")
    )


async def test_amount_error_names_the_limits(accounts: Accounts) -> None:
    """The amount refusal tells the minimum and the decimals allowed."""
    with pytest.raises(ServiceValidationError) as err:
        await accounts.hass.services.async_call(
            DOMAIN,
            "export_coins",
            {"config_entry_id": accounts.entries["jsecoin"].entry_id, "amount": -1},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "invalid_amount"
    assert str(err.value) == (
        "The amount must be a number of at least 0.000001 JSE with at most 8 decimals"
    )


@pytest.mark.parametrize("recipient", BAD_RECIPIENTS)
async def test_bad_recipients(accounts: Accounts, recipient: str) -> None:
    """Anything but an e-mail address or a hex public key is refused."""
    await accounts.refused(
        "jsecoin", "transfer", transfer(recipient=recipient), "invalid_recipient"
    )


@pytest.mark.parametrize("reference", BAD_REFERENCES)
async def test_bad_references(accounts: Accounts, reference: str) -> None:
    """References outside the provider's characters or length are refused."""
    await accounts.refused(
        "jsecoin", "transfer", transfer(reference=reference), "invalid_reference"
    )


@pytest.mark.parametrize("coin_code", BAD_COIN_CODES)
async def test_bad_coin_codes(accounts: Accounts, coin_code: str) -> None:
    """A coin code that could change the URL is refused, and never echoed."""
    await accounts.refused(
        "jsecoin", "import_coins", {"coin_code": coin_code}, "invalid_coin_code"
    )


@pytest.mark.parametrize("block", [-1, "abc", 1.5, "1.5", True, "../1", None])
async def test_bad_block_numbers(accounts: Accounts, block: Any) -> None:
    """A block number is a whole number, 0 or more."""
    await accounts.refused("jsecoin", "get_block", {"block": block}, Schema("block"))


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("transfer", {"amount": 1, "reference": "r"}, "recipient"),
        ("transfer", {"recipient": BOB["email"], "reference": "r"}, "amount"),
        ("transfer", {"recipient": BOB["email"], "amount": 1}, "reference"),
        ("export_coins", {}, "amount"),
        ("import_coins", {}, "coin_code"),
        ("transfer", {**transfer(), "extra": "field"}, "extra"),
    ],
)
async def test_missing_or_unknown_jsecoin_fields(
    accounts: Accounts, action: str, data: dict[str, Any], field: str
) -> None:
    """Required fields must be there, and nothing else may be."""
    await accounts.refused("jsecoin", action, data, Schema(field))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"action": "Unknown action"}, "unknown_action"),
        ({"action": "../actions/33"}, "unknown_action"),
        ({"action": "33/../41"}, "unknown_action"),
        ({"action": "%2F"}, "unknown_action"),
        ({"action": ""}, "unknown_action"),
        ({"action": "Restart miners"}, "action_disabled"),
        ({"action": "Send BTC"}, "action_parameters_missing"),
        (
            {"action": "Send BTC", "parameters": {"recipient": "x"}},
            "action_parameters_missing",
        ),
        ({"action": "12", "parameters": "not a mapping"}, Schema("parameters")),
        ({"action": "12", "parameters": ["a", "b"]}, Schema("parameters")),
        ({"action": "12", "wait": "maybe"}, Schema("wait")),
        ({"action": "12", "timeout": 0}, Schema("timeout")),
        ({"action": "12", "timeout": -5}, Schema("timeout")),
        ({"action": "12", "timeout": 100000}, Schema("timeout")),
        ({"action": "12", "timeout": "soon"}, Schema("timeout")),
        ({}, Schema("action")),
    ],
)
async def test_bad_executions(
    accounts: Accounts, data: dict[str, Any], expected: Refusal
) -> None:
    """Unknown, disabled or malformed executions are refused before sending."""
    await accounts.refused("coinsoftworks", "execute_action", data, expected)


def link(**changes: Any) -> dict[str, Any]:
    """Return a valid link request with ``changes`` (``None`` removes a field)."""
    data = {"website": "new.example.com", "link_method": "proxy", **changes}
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (link(link_method="ftp"), Schema("link_method")),
        (link(link_method="DNS "), Schema("link_method")),
        (link(link_method=""), Schema("link_method")),
        (link(link_method=None), Schema("link_method")),
        (link(website=None), Schema("website")),
        (link(website="https://new.example.com"), "invalid_website"),
        (link(website="new.example.com/path"), "invalid_website"),
        (link(website="new.example.com?x"), "invalid_website"),
        (link(website="new.example.com#x"), "invalid_website"),
        (link(website="new example.com"), "invalid_website"),
        (link(website="new.example.com\n"), "invalid_website"),
        (link(website=""), "invalid_website"),
        (link(website="x" * 300), "invalid_website"),
        (link(dns_website="www.example.com"), "invalid_dns_website"),  # only with dns
        (
            link(link_method="dns", dns_website="www.example.com/x"),
            "invalid_dns_website",
        ),
        (link(protocol="ftp"), "invalid_protocol"),
        (link(port=0), Schema("port")),
        (link(port=65536), Schema("port")),
        (link(port=-1), Schema("port")),
        (link(port="http"), Schema("port")),
        *((link(path=path), "invalid_path") for path in BAD_PATHS),
    ],
)
async def test_bad_links(
    accounts: Accounts, data: dict[str, Any], expected: Refusal
) -> None:
    """Bad link methods, hosts, protocols, ports and paths are refused before sending."""
    await accounts.refused("coinetize", "link_website", data, expected)


@pytest.mark.parametrize("subdomain", BAD_SUBDOMAINS)
@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("verify_website", {}),
        ("unlink_website", {}),
        ("add_path", {"path": "/ok"}),
        ("remove_path", {"path": "/ok"}),
        ("website_review", {}),
    ],
)
async def test_bad_subdomains(
    accounts: Accounts, action: str, data: dict[str, Any], subdomain: str
) -> None:
    """A subdomain that could change the request is refused by every website action."""
    await accounts.refused(
        "coinetize", action, {"subdomain": subdomain, **data}, "invalid_subdomain"
    )


@pytest.mark.parametrize("action", ["verify_website", "add_path", "website_review"])
async def test_subdomain_not_linked_here(accounts: Accounts, action: str) -> None:
    """A well-formed subdomain this entry did not link is refused before sending."""
    data = {"path": "/ok"} if action == "add_path" else {}
    await accounts.refused(
        "coinetize", action, {"subdomain": "site-0b5e11", **data}, "unknown_subdomain"
    )


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("action", ["add_path", "remove_path"])
async def test_bad_paths(accounts: Accounts, action: str, path: str) -> None:
    """Paths without their leading /, with a trailing /, or with URL syntax are refused."""
    await accounts.refused(
        "coinetize",
        action,
        {"subdomain": accounts.subdomain, "path": path},
        "invalid_path",
    )


@pytest.mark.parametrize(
    "v_file", ["a/b", "..", ".", "proof.txt", "PROOF.TXT", "a\\b", "a b", ""]
)
async def test_bad_verification_files(accounts: Accounts, v_file: str) -> None:
    """A verification file is a bare file name without .txt."""
    await accounts.refused(
        "coinetize",
        "verify_website",
        {"subdomain": accounts.subdomain, "v_file": v_file},
        "invalid_v_file",
    )


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("verify_website", {}, "subdomain"),
        ("add_path", {"subdomain": "site-x"}, "path"),
        ("add_path", {"path": "/x"}, "subdomain"),
        ("remove_path", {}, "subdomain"),
        ("website_review", {}, "subdomain"),
        ("unlink_website", {}, "subdomain"),
        ("link_website", {}, "website"),
    ],
)
async def test_missing_coinetize_fields(
    accounts: Accounts, action: str, data: dict[str, Any], field: str
) -> None:
    """Every website action names its website."""
    await accounts.refused("coinetize", action, data, Schema(field))


@pytest.mark.parametrize(
    ("provider", "action", "data"),
    [
        ("jsecoin", "get_block", {}),
        ("coinetize", "website_review", {"subdomain": "site-x"}),
        ("coinsoftworks", "execute_action", {"action": "12"}),
    ],
)
async def test_bad_entry_ids(
    accounts: Accounts, provider: str, action: str, data: dict[str, Any]
) -> None:
    """An unknown or missing entry id is refused before anything is sent."""
    before = accounts.sandbox.request_count()
    for entry_id in ("no-such-entry", ""):
        with pytest.raises(ServiceValidationError) as unknown:
            await accounts.hass.services.async_call(
                DOMAIN,
                action,
                {"config_entry_id": entry_id, **data},
                blocking=True,
                return_response=True,
            )
        assert unknown.value.translation_key == "service_config_entry_not_found"
    for call_data in ({"config_entry_id": None, **data}, data):
        with pytest.raises(vol.Invalid) as invalid:
            await accounts.hass.services.async_call(
                DOMAIN, action, call_data, blocking=True, return_response=True
            )
        assert invalid.value.path == ["config_entry_id"]
    assert accounts.sandbox.request_count() == before
