"""The Coinetize websites option, end to end: followed websites get devices.

Coinetize cannot list an account's websites, so the seeded owner's verified website
(linked before CoinHub) shows only once its subdomain is followed in the options.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.api.coinetize import (
    CoinetizeClient,
    LinkMethod,
    TimestampRefusedError,
)
from custom_components.coinhub.api.exceptions import (
    AuthenticationError,
    CannotConnectError,
    RateLimitedError,
)
from custom_components.coinhub.coinetize_options_flow import parse_websites
from custom_components.coinhub.const import CONF_WEBSITES, DOMAIN
from custom_components.coinhub.coordinator import COINETIZE_INTERVAL
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import WEBMASTER, coinetize_entry, seed
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

SHOP = seed("coinetize")["websites"][0]
SHOP_VERIFIED = "binary_sensor.shop_example_com_verified"
SHOP_PATHS = "sensor.shop_example_com_enabled_paths"
SHOP_LINK_METHOD = "sensor.shop_example_com_link_method"
LINKED_COUNT = "sensor.coinetize_webmaster_linked_websites"


async def set_websites(
    hass: HomeAssistant, entry: MockConfigEntry, text: str
) -> dict[str, Any]:
    """Run the options flow with ``text`` as the websites field; return its result."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "websites"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_WEBSITES: text}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return dict(result)


def owner_client(hass: HomeAssistant, sandbox: Sandbox) -> CoinetizeClient:
    """Return a client of the seeded owner, to link websites outside CoinHub."""
    return CoinetizeClient(
        async_get_clientsession(hass),
        WEBMASTER["username"],
        WEBMASTER["auth_token"],
        base_url=sandbox.base_url("coinetize"),
    )


def website_device(hass: HomeAssistant, entry: MockConfigEntry, subdomain: str) -> Any:
    """Return the device of one of the entry's websites, if it has one."""
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.unique_id}_{subdomain}"), entry.entry_id
    )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_following_the_seeded_website_shows_it_without_reload(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The seeded verified website appears when followed and goes when removed."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    coordinator = entry.runtime_data
    assert hass.states.get(LINKED_COUNT).state == "0"
    assert website_device(hass, entry, SHOP["subdomain"]) is None

    result = await set_websites(hass, entry, f"  {SHOP['subdomain']}\n\n")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_WEBSITES] == [SHOP["subdomain"]]
    # Not reloaded: the same coordinator shows the website.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is coordinator
    device = website_device(hass, entry, SHOP["subdomain"])
    assert device is not None
    assert device.name == SHOP["website"]
    assert hass.states.get(LINKED_COUNT).state == "1"
    assert hass.states.get(SHOP_VERIFIED).state == "on"
    paths = hass.states.get(SHOP_PATHS)
    assert paths.state == "1"
    assert paths.attributes["paths"] == SHOP["enabled_paths"]
    assert hass.states.get(SHOP_LINK_METHOD).state == "proxy"
    # The check's review is reused: a poll costs one path listing.
    assert sandbox.route_count("coinetize", "review") == 1

    result = await set_websites(hass, entry, "")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_WEBSITES] == []
    assert website_device(hass, entry, SHOP["subdomain"]) is None
    assert hass.states.get(LINKED_COUNT).state == "0"
    assert entry.runtime_data is coordinator


async def test_followed_website_survives_a_restart(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """After a reload the followed website is read again from Coinetize."""
    entry = coinetize_entry(sandbox)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_WEBSITES: [SHOP["subdomain"]]}
    )
    await setup_entry(hass, entry)
    assert hass.states.get(SHOP_VERIFIED).state == "on"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get(SHOP_VERIFIED).state == "on"
    assert website_device(hass, entry, SHOP["subdomain"]) is not None
    assert sandbox.route_count("coinetize", "review") == 2


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_dns_and_redirect_websites_linked_elsewhere(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A review tells a dns link from a redirect; a dns link's verification is unknown."""
    owner = owner_client(hass, sandbox)
    dns = await owner.link_website(
        "198.51.100.7", LinkMethod.DNS, dns_website="www.example.org"
    )
    redirect = await owner.link_website("blog.example.net", LinkMethod.REDIRECT)
    entry = await setup_entry(hass, coinetize_entry(sandbox))

    result = await set_websites(hass, entry, f"{dns.subdomain}\n{redirect.subdomain}")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert website_device(hass, entry, dns.subdomain).name == "www.example.org"
    assert website_device(hass, entry, redirect.subdomain).name == "blog.example.net"
    assert hass.states.get("binary_sensor.www_example_org_verified").state == "unknown"
    assert hass.states.get("sensor.www_example_org_link_method").state == "dns"
    assert hass.states.get("binary_sensor.blog_example_net_verified").state == "off"
    assert hass.states.get("sensor.blog_example_net_link_method").state == "redirect"


async def test_website_linked_through_coinhub_is_never_lost(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A website the link action added stays, listed in the option or not."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    response = await hass.services.async_call(
        DOMAIN,
        "link_website",
        {
            "config_entry_id": entry.entry_id,
            "website": "new.example.com",
            "link_method": "proxy",
        },
        blocking=True,
        return_response=True,
    )
    linked = response["subdomain"]
    assert website_device(hass, entry, linked) is not None

    await set_websites(hass, entry, f"{linked}\n{SHOP['subdomain']}")
    await set_websites(hass, entry, "")

    assert website_device(hass, entry, linked) is not None
    assert website_device(hass, entry, SHOP["subdomain"]) is None
    assert linked in entry.data[CONF_WEBSITES]
    assert hass.states.get(LINKED_COUNT).state == "1"


async def test_unlinking_a_followed_website_stops_following_it(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The unlink action works on a followed website and takes it off the option."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    await set_websites(hass, entry, SHOP["subdomain"])
    review = await hass.services.async_call(
        DOMAIN,
        "website_review",
        {"config_entry_id": entry.entry_id, "subdomain": SHOP["subdomain"]},
        blocking=True,
        return_response=True,
    )
    assert "shop" in review["htaccess_code"]

    await hass.services.async_call(
        DOMAIN,
        "unlink_website",
        {"config_entry_id": entry.entry_id, "subdomain": SHOP["subdomain"]},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()

    assert entry.options[CONF_WEBSITES] == []
    assert website_device(hass, entry, SHOP["subdomain"]) is None
    websites = await sandbox.admin("GET", "/coinetize/websites")
    assert SHOP["subdomain"] not in {
        website["subdomain"] for website in websites[WEBMASTER["username"]]
    }


@pytest.mark.parametrize(
    ("text", "website", "error"),
    [
        ("site-0b5e11.coinetize.com", "site-0b5e11.coinetize.com", "invalid_website"),
        ("ok-label\n../review", "../review", "invalid_website"),
        ("-leading", "-leading", "invalid_website"),
        ("site 0b5e11", "site 0b5e11", "invalid_website"),
        ("site-0b5e11\nsite-ffffff", "site-ffffff", "unknown_website"),
    ],
)
async def test_a_bad_website_is_named_and_nothing_saved(
    hass: HomeAssistant, sandbox: Sandbox, text: str, website: str, error: str
) -> None:
    """Not one DNS label, or not this account's: a form error naming it."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))

    result = await set_websites(hass, entry, text)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_WEBSITES: error}
    assert result["description_placeholders"] == {"website": website}
    assert CONF_WEBSITES not in entry.options
    assert website_device(hass, entry, SHOP["subdomain"]) is None


async def test_another_owners_website_is_unknown(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Coinetize answers a review for the account's own websites only."""
    blogger = seed("coinetize")["users"][1]
    entry = await setup_entry(hass, coinetize_entry(sandbox, blogger))

    result = await set_websites(hass, entry, SHOP["subdomain"])

    assert result["errors"] == {CONF_WEBSITES: "unknown_website"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CannotConnectError("timeout"), "cannot_connect"),
        (AuthenticationError("Invalid signature"), "invalid_auth"),
        (RateLimitedError("slow down"), "rate_limited"),
        (TimestampRefusedError("Timestamp out of range"), "unknown"),
        (RuntimeError("boom"), "unknown"),
    ],
    ids=repr,
)
async def test_check_failures_are_form_errors(
    hass: HomeAssistant, sandbox: Sandbox, error: Exception, expected: str
) -> None:
    """A failed check says why through the shared error table; nothing is saved."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    client = AsyncMock(spec=CoinetizeClient)
    client.review.side_effect = error
    with patch(
        "custom_components.coinhub.coinetize_options_flow.coinetize_client",
        return_value=client,
    ):
        result = await set_websites(hass, entry, SHOP["subdomain"])

    assert result["errors"] == {"base": expected}
    assert CONF_WEBSITES not in entry.options


def test_parse_websites_drops_blanks_and_repeats() -> None:
    """One subdomain a line; the first bad one is reported."""
    assert parse_websites(" a \n\nb\na\n") == (["a", "b"], None)
    assert parse_websites("a\nb/c\nd e") == (["a", "b/c", "d e"], "b/c")


async def test_verifying_a_followed_dns_website(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The verify action works on a followed website; its dns verification is then known."""
    owner = owner_client(hass, sandbox)
    dns = await owner.link_website(
        "198.51.100.7", LinkMethod.DNS, dns_website="www.example.org"
    )
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    await set_websites(hass, entry, dns.subdomain)
    assert hass.states.get("binary_sensor.www_example_org_verified").state == "unknown"
    await sandbox.admin("POST", f"/coinetize/websites/{dns.subdomain}/publish", {})

    await hass.services.async_call(
        DOMAIN,
        "verify_website",
        {"config_entry_id": entry.entry_id, "subdomain": dns.subdomain},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.www_example_org_verified").state == "on"
    # Followed, not linked through CoinHub: the entry's data stays as it was.
    assert dns.subdomain not in entry.data[CONF_WEBSITES]


async def test_website_unlinked_elsewhere_reads_unverified(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A followed website Coinetize no longer knows is shown as not verified."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    await set_websites(hass, entry, SHOP["subdomain"])
    await owner_client(hass, sandbox).unlink_website(SHOP["subdomain"])

    await poll(hass, COINETIZE_INTERVAL)

    assert hass.states.get(SHOP_VERIFIED).state == "off"
    assert entry.runtime_data.last_update_success


async def test_website_unknown_at_start_is_left_out(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A followed website unlinked while Home Assistant was off gets no entities."""
    entry = coinetize_entry(sandbox)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_WEBSITES: ["site-ffffff"]}
    )

    await setup_entry(hass, entry)

    assert hass.states.get(LINKED_COUNT).state == "0"
    assert "site-ffffff" not in entry.runtime_data.data.websites
