"""Safety end to end: who may act, and what is refused before anything is sent.

Home Assistant, the real clients and the sandbox: actions that change an account are for
administrators only; everything refused here must leave the sandbox untouched.
"""

from __future__ import annotations

from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.const import DOMAIN
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    transfers_allowed,
)
from tests.conftest import Sandbox


async def call_as(
    hass: HomeAssistant,
    user: User,
    service: str,
    entry: MockConfigEntry,
    /,
    **data: Any,
) -> Any:
    """Call a CoinHub action for ``entry`` as ``user`` and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
        context=Context(user_id=user.id),
    )


@pytest.fixture
async def accounts(hass: HomeAssistant, sandbox: Sandbox) -> dict[str, MockConfigEntry]:
    """One loaded entry per provider, JSEcoin transfers allowed."""
    return {
        "jsecoin": await setup_entry(
            hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
        ),
        "coinetize": await setup_entry(hass, coinetize_entry(sandbox)),
        "coinsoftworks": await setup_entry(hass, coinsoftworks_entry(sandbox)),
    }


# Every action that changes an account, with data its schema accepts.
WRITES: dict[str, tuple[str, dict[str, Any]]] = {
    "transfer": (
        "jsecoin",
        {"recipient": "bob@example.com", "amount": 1, "reference": "not-admin"},
    ),
    "export_coins": ("jsecoin", {"amount": 1}),
    "import_coins": ("jsecoin", {"coin_code": "abc123"}),
    "execute_action": ("coinsoftworks", {"action": "Claim mining rewards"}),
    "link_website": (
        "coinetize",
        {"website": "new.example.com", "link_method": "proxy"},
    ),
    "verify_website": ("coinetize", {"subdomain": "site-0b5e11"}),
    "unlink_website": ("coinetize", {"subdomain": "site-0b5e11"}),
    "add_path": ("coinetize", {"subdomain": "site-0b5e11", "path": "/x"}),
    "remove_path": ("coinetize", {"subdomain": "site-0b5e11", "path": "/shop"}),
}


@pytest.mark.parametrize("service", list(WRITES))
async def test_writes_refused_to_a_non_admin_user(
    hass: HomeAssistant,
    sandbox: Sandbox,
    accounts: dict[str, MockConfigEntry],
    hass_read_only_user: User,
    service: str,
) -> None:
    """A user who is not an administrator cannot change an account: nothing is sent."""
    provider, data = WRITES[service]
    sent_before = sandbox.request_count()

    with pytest.raises(Unauthorized):
        await call_as(hass, hass_read_only_user, service, accounts[provider], **data)

    assert sandbox.request_count() == sent_before


async def test_admin_writes_and_everyone_reads(
    hass: HomeAssistant,
    sandbox: Sandbox,
    accounts: dict[str, MockConfigEntry],
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """An administrator's write goes through; blocks and reviews are for every user."""
    link = await call_as(
        hass,
        hass_admin_user,
        "link_website",
        accounts["coinetize"],
        website="admin.example.com",
        link_method="dns",
        dns_website="www.admin.example.com",
    )
    started = await call_as(
        hass,
        hass_admin_user,
        "execute_action",
        accounts["coinsoftworks"],
        action="Claim mining rewards",
        wait=False,
    )
    assert started["status"] == "queued"
    assert sandbox.route_count("coinsoftworks", "/actions/{api_key}/", "POST") == 1

    review = await call_as(
        hass,
        hass_read_only_user,
        "website_review",
        accounts["coinetize"],
        subdomain=link["subdomain"],
    )
    assert review["a_record"]["website"] == "www.admin.example.com"
    block = await call_as(hass, hass_read_only_user, "get_block", accounts["jsecoin"])
    assert block["block_id"] > 0
