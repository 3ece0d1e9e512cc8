"""Safety end to end: who may act, and what is refused before anything is sent.

Home Assistant, the real clients and the sandbox: actions that change an account are for
administrators only; everything refused here must leave the sandbox untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from decimal import Decimal
import json
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.auth.models import User
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.coinhub.const import (
    CONF_ACCESS_TOKEN,
    CONF_ADVANCED,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    DOMAIN,
)
from custom_components.coinhub.coordinator import coinsoftworks as coordinator_module
from custom_components.coinhub.sensor import FAILED_WITHOUT_REASON
from sandbox.faults import FaultRule
from tests.components.conftest import call_action, setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BLOCK_SECONDS,
    BOB,
    JOHN,
    WEBMASTER,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
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


# coinsoftworks wallet actions

PREFIX = "coinsoftworks_johncb5496"
ENABLED_ACTIONS = f"sensor.{PREFIX}_enabled_actions"
LAST_ACTION_STATUS = f"sensor.{PREFIX}_last_action_status"


@pytest.fixture(autouse=True)
def fast_execution_monitor() -> Generator[None]:
    """Follow executions every few milliseconds; the sandbox clock moves them on."""
    with (
        patch.object(coordinator_module, "EXECUTION_MONITOR_FIRST_DELAY", 0.01),
        patch.object(coordinator_module, "EXECUTION_MONITOR_MAX_DELAY", 0.02),
    ):
        yield


def executions_sent(sandbox: Sandbox) -> int:
    """Count the execute requests the coinsoftworks sandbox received."""
    return sandbox.route_count(
        "coinsoftworks", "/actions/{api_key}/{action_id}", "POST"
    )


async def set_wallet_actions(
    hass: HomeAssistant, entry: MockConfigEntry, *, allowed: bool
) -> None:
    """Save the entry's options through its options flow."""
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    assert flow["type"] is FlowResultType.FORM
    assert flow["step_id"] == "coinsoftworks"
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_ALLOW_WALLET_ACTIONS: allowed}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_wallet_actions_guarded(
    hass: HomeAssistant, sandbox: Sandbox, entity_registry: er.EntityRegistry
) -> None:
    """Off by default: refused by id and by name, never a button; on: runs once."""
    john = await setup_entry(hass, coinsoftworks_entry(sandbox))

    for action, parameters in (
        ("17", None),
        ("swap eth to btc", None),
        (
            "Send BTC",
            {"recipient": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "amount": "1"},
        ),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call_action(
                hass,
                "execute_action",
                john,
                action=action,
                **({} if parameters is None else {"parameters": parameters}),
            )
        assert err.value.translation_key == "wallet_actions_not_allowed"
        assert "Allow wallet actions" in str(err.value)
    assert executions_sent(sandbox) == 0

    # Swap ETH to BTC is enabled and takes no parameters, yet gets no button; a
    # mining action does.
    assert hass.states.get(f"button.{PREFIX}_swap_eth_to_btc") is None
    assert hass.states.get(f"button.{PREFIX}_claim_mining_rewards") is not None
    attributes = hass.states.get(ENABLED_ACTIONS).attributes
    assert attributes["wallet_actions"] == ["Send BTC", "Swap ETH to BTC"]

    await set_wallet_actions(hass, john, allowed=True)
    started = await call_action(
        hass, "execute_action", john, action="Swap ETH to BTC", wait=False
    )
    assert started["status"] == "queued"
    assert executions_sent(sandbox) == 1
    sandbox.context.clock.advance(60)  # the execution ends; its monitor stops
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(f"button.{PREFIX}_swap_eth_to_btc") is None
    assert not [
        entity
        for entity in er.async_entries_for_config_entry(entity_registry, john.entry_id)
        if entity.domain == "button" and "17" in entity.unique_id.split("_")
    ]

    await set_wallet_actions(hass, john, allowed=False)
    with pytest.raises(ServiceValidationError):
        await call_action(hass, "execute_action", john, action="17")
    assert executions_sent(sandbox) == 1


async def test_new_entry_starts_with_wallet_actions_off(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """An entry made by the config flow holds the option, off."""
    flow = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"next_step_id": "coinsoftworks"}
    )
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {
            CONF_API_KEY: JOHN["api_key"],
            CONF_ACCESS_TOKEN: JOHN["access_token"],
            CONF_ADVANCED: {CONF_BASE_URL: sandbox.base_url("coinsoftworks")},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {CONF_ALLOW_WALLET_ACTIONS: False}
    await hass.async_block_till_done()
    entry = result["result"]
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "execute_action", entry, action="Swap ETH to BTC")
    assert err.value.translation_key == "wallet_actions_not_allowed"


async def test_actions_without_a_known_type_are_wallet_actions(
    hass: HomeAssistant,
    sandbox: Sandbox,
    hass_client: ClientSessionGenerator,
) -> None:
    """A row without a type, or with a new one, sets up and polls, guarded."""
    for action_id, name, action_type in (
        (61, "Mystery", None),
        (62, "Bridge to L2", "eBridge Action"),
        (63, "Top up wallet", "WALLET top-up"),
    ):
        await sandbox.admin(
            "POST",
            f"/coinsoftworks/accounts/{JOHN['api_key']}/actions",
            {"action_id": action_id, "action_name": name, "action_type": action_type},
        )
    john = await setup_entry(hass, coinsoftworks_entry(sandbox))
    assert john.state is ConfigEntryState.LOADED
    await john.runtime_data.async_refresh()
    assert john.runtime_data.last_update_success

    state = hass.states.get(ENABLED_ACTIONS)
    assert state.state == "6"
    assert set(state.attributes["wallet_actions"]) == {
        "Send BTC",
        "Swap ETH to BTC",
        "Mystery",
        "Bridge to L2",
        "Top up wallet",
    }
    for name in ("mystery", "bridge_to_l2", "top_up_wallet"):
        assert hass.states.get(f"button.{PREFIX}_{name}") is None
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "execute_action", john, action="Mystery")
    assert err.value.translation_key == "wallet_actions_not_allowed"
    assert executions_sent(sandbox) == 0

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, john)
    wallet = {
        action["action_name"]: action["wallet"]
        for action in diagnostics["data"]["actions"]
    }
    assert wallet == {
        "Send BTC": True,
        "Claim mining rewards": False,
        "Swap ETH to BTC": True,
        "Restart miners": False,
        "Mystery": True,
        "Bridge to L2": True,
        "Top up wallet": True,
    }
    mystery = next(
        a for a in diagnostics["data"]["actions"] if a["action_name"] == "Mystery"
    )
    assert mystery["action_type"] is None


# The last execution's reason


async def run_to_the_end(
    hass: HomeAssistant, sandbox: Sandbox, entry: MockConfigEntry, action: str
) -> None:
    """Start ``action`` and move the sandbox on until its execution ended."""
    await call_action(hass, "execute_action", entry, action=action, wait=False)
    for _ in range(200):
        if sandbox.route_count("coinsoftworks", "/executions/"):
            break
        await asyncio.sleep(0.01)
    sandbox.context.clock.advance(60)
    for _ in range(200):
        if hass.states.get(LAST_ACTION_STATUS).state == "failed":
            return
        await asyncio.sleep(0.01)


async def test_failed_execution_says_why(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """ "Last action status" carries the provider's reason, or CoinHub's own words."""
    await sandbox.admin(
        "POST",
        f"/coinsoftworks/accounts/{JOHN['api_key']}/actions",
        {
            "action_id": 71,
            "action_name": "Silent failure",
            "action_type": "eMining Action",
            "outcome": "failed",
            "message": "",
        },
    )
    john = await setup_entry(
        hass,
        coinsoftworks_entry(sandbox, options={CONF_ALLOW_WALLET_ACTIONS: True}),
    )

    await run_to_the_end(hass, sandbox, john, "Swap ETH to BTC")
    state = hass.states.get(LAST_ACTION_STATUS)
    assert state.state == "failed"
    assert state.attributes["message"] == "Insufficient liquidity for the swap"

    await run_to_the_end(hass, sandbox, john, "Silent failure")
    state = hass.states.get(LAST_ACTION_STATUS)
    assert state.state == "failed"
    assert state.attributes["action"] == "Silent failure"
    assert state.attributes["message"] == FAILED_WITHOUT_REASON
    translations = await async_get_translations(hass, "en", "entity", {DOMAIN})
    key = (
        f"component.{DOMAIN}.entity.sensor.last_action_status.state_attributes"
        f".message.state.{FAILED_WITHOUT_REASON}"
    )
    assert translations[key] == "coinsoftworks gave no reason"


# The Coinetize token is sent with every call: no URL carrying it reaches a log or error


async def test_coinetize_token_never_logged_nor_in_errors(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    unused_tcp_port: int,
) -> None:
    """Reads carry the token in their query; failed reads, writes and checks hide it."""
    caplog.set_level(logging.DEBUG)
    token = WEBMASTER["auth_token"]
    shop = seed("coinetize")["websites"][0]
    entry = await setup_entry(
        hass,
        coinetize_entry(
            sandbox,
            websites={
                shop["subdomain"]: {
                    "website": shop["website"],
                    "link_method": shop["link_method"],
                    "verified": True,
                }
            },
        ),
    )
    assert sandbox.route_count("coinetize", "/list_paths", "GET") == 1
    coordinator = entry.runtime_data
    errors: list[str] = []
    for kind, extra in (
        ("drop_before", {}),
        ("malformed", {}),
        ("truncated", {}),
        ("status", {"status": 502, "body": "<html>Bad gateway</html>"}),
    ):
        sandbox.context.faults.add(FaultRule(kind=kind, provider="coinetize", **extra))
        await coordinator.async_refresh()
        assert not coordinator.last_update_success
        errors.append(str(coordinator.last_exception))
        for service, data in (
            ("website_review", {"subdomain": shop["subdomain"]}),
            ("unlink_website", {"subdomain": shop["subdomain"]}),
        ):
            with pytest.raises(HomeAssistantError) as err:
                await call_action(hass, service, entry, **data)
            errors.append(str(err.value))
        sandbox.context.faults.clear()

    # The credentials check against a server that is not there.
    flow = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"next_step_id": "coinetize"}
    )
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {
            CONF_USERNAME: "someone-else",
            CONF_AUTH_TOKEN: token,
            CONF_ADVANCED: {CONF_BASE_URL: f"http://127.0.0.1:{unused_tcp_port}"},
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}

    assert len(errors) == 12
    for text in (caplog.text, *errors):
        assert token not in text
        assert "auth_token=" not in text
        assert "signature=" not in text


# Diagnostics of an entry that did not load


async def test_diagnostics_of_an_entry_that_did_not_load(
    hass: HomeAssistant,
    sandbox: Sandbox,
    hass_client: ClientSessionGenerator,
) -> None:
    """Waiting for a setup retry, or unloaded: settings and the last error, redacted."""
    sandbox.context.faults.add(FaultRule(kind="drop_before", provider="coinsoftworks"))
    entry = coinsoftworks_entry(sandbox)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["state"] == "setup_retry"
    assert diagnostics["entry"]["options"] == {}
    assert diagnostics["entry"]["data"]["base_url"] == sandbox.base_url("coinsoftworks")
    error = diagnostics["last_error"]
    assert error["translation_key"] == "cannot_connect"
    assert error["translation_placeholders"] == {
        "provider": "coinsoftworks",
        "account": "**REDACTED**",
    }
    assert "Could not reach coinsoftworks" in error["reason"]
    text = json.dumps(diagnostics)
    for secret in (JOHN["api_key"], JOHN["access_token"], JOHN["username"]):
        assert secret not in text

    sandbox.context.faults.clear()
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["state"] == "not_loaded"
    assert diagnostics["last_error"] is None
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"


# link_website: a host name or an IP address, nothing else


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"website": ".."}, "invalid_website"),
        ({"website": "."}, "invalid_website"),
        ({"website": "shop..example.com"}, "invalid_website"),
        ({"website": "-shop.example.com"}, "invalid_website"),
        ({"website": "shop.example.com:8080"}, "invalid_website"),
        ({"website": "https://shop.example.com"}, "invalid_website"),
        ({"website": "shop_example.com"}, "invalid_website"),
        ({"website": "1.2.3.4.5"}, "invalid_website"),
        (
            {"website": "203.0.113.9", "dns_website": "..", "link_method": "dns"},
            "invalid_dns_website",
        ),
        (
            {
                "website": "203.0.113.9",
                "dns_website": "203.0.113.9",
                "link_method": "dns",
            },
            "invalid_dns_website",
        ),
    ],
)
async def test_link_website_refuses_what_is_not_a_host(
    hass: HomeAssistant, sandbox: Sandbox, data: dict[str, str], key: str
) -> None:
    """Refused with a translated message before anything is sent."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))

    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "link_website", entry, **{"link_method": "proxy", **data}
        )

    assert err.value.translation_key == key
    assert sandbox.route_count("coinetize", "/link_website") == 0


@pytest.mark.parametrize(
    "data",
    [
        {"website": "blog.example.net", "link_method": "proxy"},
        {"website": "localhost", "link_method": "redirect"},
        {"website": "198.51.100.7", "link_method": "proxy"},
        {"website": "2001:db8::7", "link_method": "proxy"},
        {
            "website": "198.51.100.8",
            "dns_website": "www.example.org",
            "link_method": "dns",
        },
    ],
)
async def test_link_website_takes_host_names_and_addresses(
    hass: HomeAssistant, sandbox: Sandbox, data: dict[str, str]
) -> None:
    """Host names and IP addresses (the document's dns case) are linked."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))

    link = await call_action(hass, "link_website", entry, **data)

    linked = await sandbox.admin("GET", f"/coinetize/websites/{link['subdomain']}")
    assert linked["website"] == data["website"]


# A coin code import whose answer is lost is settled from the history


async def test_lost_import_answers_settled_from_history(
    hass: HomeAssistant, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Imported (history shows the code), not made, or unknown: each said as such."""
    caplog.set_level(logging.DEBUG)
    alice = await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )
    bob = await setup_entry(hass, jsecoin_entry(sandbox, BOB))
    codes = []
    for amount in (2.5, 1.25):
        exported = await call_action(hass, "export_coins", alice, amount=amount)
        codes.append(exported["coin_code"])
        sandbox.context.clock.advance(BLOCK_SECONDS)
    bob_before = await sandbox.admin("GET", "/jsecoin/accounts/bob")

    # The sandbox imports the code and drops the connection: the history tells.
    sandbox.context.faults.add(
        FaultRule(kind="drop_after_apply", provider="jsecoin", path="/import/", count=1)
    )
    imported = await call_action(hass, "import_coins", bob, coin_code=codes[0])
    assert imported == {"value": 2.5, "confirmed_from_history": True}
    bob_after = await sandbox.admin("GET", "/jsecoin/accounts/bob")
    assert Decimal(bob_after["balance"]) == Decimal(bob_before["balance"]) + Decimal(
        "2.5"
    )
    sandbox.context.clock.advance(BLOCK_SECONDS)

    # A code the provider does not know, its refusal garbled: the history shows no
    # import of it.
    sandbox.context.faults.add(
        FaultRule(kind="malformed", provider="jsecoin", path="/import/", count=1)
    )
    with (
        patch("custom_components.coinhub.transfers.RECHECK_DELAY", 0),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call_action(hass, "import_coins", bob, coin_code="deadbeef00")
    assert err.value.translation_key == "import_not_made"
    sandbox.context.clock.advance(BLOCK_SECONDS)

    # The answer is lost and the history cannot be read either.
    sandbox.context.faults.add(
        FaultRule(kind="drop_after_apply", provider="jsecoin", path="/import/", count=1)
    )
    sandbox.context.faults.add(
        FaultRule(kind="drop_before", provider="jsecoin", path="/history/")
    )
    with (
        patch("custom_components.coinhub.transfers.RECHECK_DELAY", 0),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call_action(hass, "import_coins", bob, coin_code=codes[1])
    assert err.value.translation_key == "import_outcome_unknown"
    sandbox.context.faults.clear()

    assert sandbox.route_count("jsecoin", "/import/") == 3
    for code in codes:
        assert code not in caplog.text
        assert code not in str(err.value)


async def test_document_shaped_refusal_while_polling_asks_for_reauthentication(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """HTTP 200 "Invalid login details" during a poll is refused credentials too."""
    shop = seed("coinetize")["websites"][0]
    entry = await setup_entry(
        hass,
        coinetize_entry(
            sandbox,
            websites={
                shop["subdomain"]: {
                    "website": shop["website"],
                    "link_method": shop["link_method"],
                    "verified": True,
                }
            },
        ),
    )
    await sandbox.admin("POST", "/coinetize/settings", {"auth_refusal": "document"})
    await sandbox.admin("POST", f"/coinetize/users/{WEBMASTER['username']}/token")

    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
