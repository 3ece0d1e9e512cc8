"""The CoinHub actions end to end: Home Assistant, the real clients and the sandbox.

Transfers that are refused, limited, locked and whose answer is dropped after the
provider applied them; coin codes exported, imported and imported again; blocks;
coinsoftworks executions followed to their end; Coinetize websites linked across a
restart, verified, given paths, reviewed and unlinked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from decimal import Decimal
from functools import partial
from http import HTTPStatus
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.const import (
    CONF_ALLOW_TRANSFERS,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_WEBSITES,
    EVENT_ACTION_FINISHED,
    EVENT_TRANSACTION,
)
from custom_components.coinhub.coordinator import coinsoftworks as coordinator_module
from sandbox.faults import FaultRule
from tests.components.conftest import call_action, setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BLOCK_SECONDS,
    BOB,
    WEBMASTER,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
    transfers_allowed,
)
from tests.conftest import Sandbox


async def balance(sandbox: Sandbox, name: str) -> Decimal:
    """Return a JSEcoin account's balance as the sandbox holds it."""
    account = await sandbox.admin("GET", f"/jsecoin/accounts/{name}")
    return Decimal(account["balance"])


def next_block(sandbox: Sandbox) -> None:
    """Move the sandbox past the account lock every JSEcoin write leaves."""
    sandbox.context.clock.advance(BLOCK_SECONDS)


@pytest.fixture
async def alice(hass: HomeAssistant, sandbox: Sandbox) -> MockConfigEntry:
    """Alice's JSEcoin account (write access), transfers allowed."""
    return await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options=transfers_allowed())
    )


# JSEcoin transfers


async def test_transfer(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A transfer moves the amount once and is announced once as a transaction."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    response = await call_action(
        hass,
        "transfer",
        alice,
        recipient=BOB["email"],
        amount=1.5,
        reference="e2e-transfer-1",
    )
    await hass.async_block_till_done()

    assert response == {"status": "sent", "notification": "Transfer Has Been Confirmed"}
    assert await balance(sandbox, "alice") == Decimal("249")
    assert await balance(sandbox, "bob") == Decimal("11.5")
    assert [(e.data["command"], e.data["reference"]) for e in events] == [
        ("transfer", "e2e-transfer-1")
    ]


async def test_transfer_to_a_public_key(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A public key is a recipient as good as an e-mail address."""
    await call_action(
        hass, "transfer", alice, recipient=BOB["public_key"], amount=2, reference="pk"
    )
    assert await balance(sandbox, "bob") == Decimal(12)


async def test_transfers_refused_before_sending(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Not allowed, above the single maximum, beyond the daily limit: nothing is sent."""
    off = await setup_entry(
        hass,
        jsecoin_entry(
            sandbox, ALICE, options=transfers_allowed(**{CONF_ALLOW_TRANSFERS: False})
        ),
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", off, recipient=BOB["email"], amount=1, reference="a"
        )
    assert err.value.translation_key == "transfers_not_allowed"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "export_coins", off, amount=1)
    assert err.value.translation_key == "transfers_not_allowed"
    assert await hass.config_entries.async_remove(off.entry_id)

    limited = await setup_entry(
        hass,
        jsecoin_entry(
            sandbox,
            ALICE,
            options=transfers_allowed(
                **{CONF_MAX_TRANSFER_AMOUNT: 5.0, CONF_DAILY_TRANSFER_LIMIT: 8.0}
            ),
        ),
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", limited, recipient=BOB["email"], amount=5.5, reference="b"
        )
    assert err.value.translation_key == "amount_above_maximum"

    await call_action(
        hass, "transfer", limited, recipient=BOB["email"], amount=5, reference="c"
    )
    next_block(sandbox)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "export_coins", limited, amount=3.5)
    assert err.value.translation_key == "daily_limit_reached"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", limited, recipient=BOB["email"], amount=4, reference="d"
        )
    assert err.value.translation_key == "daily_limit_reached"

    assert sandbox.route_count("jsecoin", "/transfer/") == 1
    assert sandbox.route_count("jsecoin", "/export/") == 0
    assert await balance(sandbox, "alice") == Decimal("245.5")


async def test_transfer_refused_by_the_provider(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """The provider's refusal is translated; the refused amount does not count."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass,
            "transfer",
            alice,
            recipient="nobody@example.com",
            amount=1,
            reference="unknown-user",
        )
    assert err.value.translation_key == "provider_refused"
    assert "User receiving funds unknown" in str(err.value)
    assert ALICE["api_key"] not in str(err.value)


async def test_lost_answer_reconciled_as_sent(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """The sandbox applies the transfer and drops the connection: "sent", once."""
    sandbox.context.faults.add(
        FaultRule(
            kind="drop_after_apply", provider="jsecoin", path="/transfer/", count=1
        )
    )
    events = async_capture_events(hass, EVENT_TRANSACTION)
    response = await call_action(
        hass, "transfer", alice, recipient=BOB["email"], amount=3, reference="lost-1"
    )
    await hass.async_block_till_done()

    assert response["status"] == "sent"
    assert "history" in response["notification"]
    assert sandbox.route_count("jsecoin", "/transfer/") == 1
    assert await balance(sandbox, "alice") == Decimal("247.5")
    assert await balance(sandbox, "bob") == Decimal(13)
    assert [e.data["reference"] for e in events] == ["lost-1"]


async def test_lost_answer_of_a_transfer_not_applied(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A malformed answer to a refused transfer: the history shows it was not sent."""
    sandbox.context.faults.add(
        FaultRule(kind="malformed", provider="jsecoin", path="/transfer/", count=1)
    )
    with (
        patch("custom_components.coinhub.transfers.RECHECK_DELAY", 0),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call_action(
            hass,
            "transfer",
            alice,
            recipient="nobody@example.com",
            amount=3,
            reference="lost-2",
        )
    assert err.value.translation_key == "transfer_not_sent"
    assert await balance(sandbox, "alice") == Decimal("250.5")


async def test_lock_waited_out(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A write right after another meets the provider's lock; it is waited out."""
    waits: list[float] = []

    async def wait_on_the_sandbox_clock(seconds: float) -> None:
        waits.append(seconds)
        sandbox.context.clock.advance(seconds)

    # The client waits out locks with the sleep it was built with.
    with patch(
        "custom_components.coinhub.clients.JSEcoinClient",
        partial(JSEcoinClient, sleep=wait_on_the_sandbox_clock),
    ):
        assert await hass.config_entries.async_reload(alice.entry_id)
    await call_action(
        hass, "transfer", alice, recipient=BOB["email"], amount=1, reference="a"
    )
    response = await call_action(
        hass, "transfer", alice, recipient=BOB["email"], amount=1, reference="b"
    )

    assert response["status"] == "sent"
    assert len(waits) == 1
    assert 0 < waits[0] <= BLOCK_SECONDS
    assert sandbox.route_count("jsecoin", "/transfer/") == 3  # one was refused
    assert await balance(sandbox, "bob") == Decimal(12)


# JSEcoin coin codes and blocks


async def test_coin_code_exported_then_imported(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A coin code carries its value to another account, once."""
    bob = await setup_entry(
        hass, jsecoin_entry(sandbox, BOB, options=transfers_allowed())
    )
    exported = await call_action(hass, "export_coins", alice, amount=5.25)
    coin_code = exported["coin_code"]
    assert exported["notification"] == "Export Successful"
    assert await balance(sandbox, "alice") == Decimal("245.25")

    imported = await call_action(hass, "import_coins", bob, coin_code=coin_code)
    assert imported == {"value": 5.25, "confirmed_from_history": False}
    assert await balance(sandbox, "bob") == Decimal("15.25")

    next_block(sandbox)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "import_coins", bob, coin_code=coin_code)
    assert err.value.translation_key == "provider_refused"
    assert "Coin Code Used" in str(err.value)
    assert coin_code not in str(err.value)
    assert await balance(sandbox, "bob") == Decimal("15.25")
    for state in hass.states.async_all():
        assert coin_code not in str(state.as_dict())


async def test_get_block(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """The current block by default, or the one asked for."""
    chain = await sandbox.admin("GET", "/jsecoin/blocks")
    current = await call_action(hass, "get_block", alice)
    assert current["block_id"] == chain["current_block_id"]
    assert current["open"] is True

    earlier = await call_action(
        hass, "get_block", alice, block=chain["current_block_id"] - 1
    )
    assert earlier["block_id"] == chain["current_block_id"] - 1
    assert earlier["hash"] == current["previous_hash"]


async def test_get_block_unknown(
    hass: HomeAssistant, sandbox: Sandbox, alice: MockConfigEntry
) -> None:
    """A block from the future is the provider's refusal, translated."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "get_block", alice, block=10**9)
    assert err.value.translation_key == "provider_refused"


# coinsoftworks


@pytest.fixture(autouse=True)
def fast_execution_monitor() -> Generator[None]:
    """Follow executions every few milliseconds; the sandbox clock moves them on."""
    with (
        patch.object(coordinator_module, "EXECUTION_MONITOR_FIRST_DELAY", 0.01),
        patch.object(coordinator_module, "EXECUTION_MONITOR_MAX_DELAY", 0.02),
    ):
        yield


@pytest.fixture
async def john(hass: HomeAssistant, sandbox: Sandbox) -> MockConfigEntry:
    """John's coinsoftworks account, wallet actions allowed."""
    return await setup_entry(
        hass, coinsoftworks_entry(sandbox, options={CONF_ALLOW_WALLET_ACTIONS: True})
    )


async def finished_events(
    hass: HomeAssistant, events: list[Any], sandbox: Sandbox
) -> list[dict[str, Any]]:
    """Move the sandbox on until an execution finished, then let a few polls pass."""
    for _ in range(200):
        if sandbox.route_count("coinsoftworks", "/executions/"):
            break  # the execution started and is being followed
        await asyncio.sleep(0.01)
    sandbox.context.clock.advance(60)
    for _ in range(200):
        if events:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # a second announcement would have come by now
    return [event.data for event in events]


async def test_execution_completes(
    hass: HomeAssistant, sandbox: Sandbox, john: MockConfigEntry
) -> None:
    """An action started without waiting ends; its end is announced once."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    started = await call_action(
        hass, "execute_action", john, action="claim mining rewards", wait=False
    )
    assert started["status"] in {"queued", "running"}
    assert started["result"] is None

    finished = await finished_events(hass, events, sandbox)
    assert finished == [
        {
            "config_entry_id": john.entry_id,
            "action_id": "12",
            "execution_id": started["execution_id"],
            "status": "completed",
            "result": {"claimed": "0.00042", "currency": "BTC"},
            "message": None,
        }
    ]


async def test_execution_fails(
    hass: HomeAssistant, sandbox: Sandbox, john: MockConfigEntry
) -> None:
    """A failing action is answered as failed when waited for, and announced once."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    running = hass.async_create_task(
        call_action(hass, "execute_action", john, action="17", wait=True, timeout=30)
    )
    finished = await finished_events(hass, events, sandbox)
    response = await running

    assert response["status"] == "failed"
    assert response["message"] == "Insufficient liquidity for the swap"
    assert response["execution_id"] == finished[0]["execution_id"]
    assert [event["status"] for event in finished] == ["failed"]
    assert finished[0]["action_id"] == "17"
    assert finished[0]["message"] == "Insufficient liquidity for the swap"


async def test_execution_with_parameters(
    hass: HomeAssistant, sandbox: Sandbox, john: MockConfigEntry
) -> None:
    """Parameters travel with the execution; the sandbox accepts them."""
    events = async_capture_events(hass, EVENT_ACTION_FINISHED)
    started = await call_action(
        hass,
        "execute_action",
        john,
        action="Send BTC",
        parameters={"recipient": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "amount": "0.1"},
        wait=False,
    )
    finished = await finished_events(hass, events, sandbox)
    assert [(e["execution_id"], e["status"]) for e in finished] == [
        (started["execution_id"], "completed")
    ]


async def test_execution_refused_before_sending(
    hass: HomeAssistant, sandbox: Sandbox, john: MockConfigEntry
) -> None:
    """Disabled actions and missing parameters never reach the provider."""
    for data, key in (
        ({"action": "Restart miners"}, "action_disabled"),
        ({"action": "33", "parameters": {"amount": "1"}}, "action_parameters_missing"),
        ({"action": "nope"}, "unknown_action"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call_action(hass, "execute_action", john, **data)
        assert err.value.translation_key == key
    assert sandbox.route_count("coinsoftworks", "/executions/") == 0
    assert not any(
        method == "POST" and route.count("/") > 2 and "actions" in route
        for (name, method, route) in sandbox.context.requests
        if name == "coinsoftworks"
    )


# Coinetize


async def test_website_lifecycle(
    hass: HomeAssistant, sandbox: Sandbox, device_registry: dr.DeviceRegistry
) -> None:
    """Link (kept across a restart), verify, add and remove a path, review, unlink."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    link = await call_action(
        hass,
        "link_website",
        entry,
        website="blog.example.net",
        link_method="proxy",
        protocol="https",
    )
    subdomain = link["subdomain"]
    linked = await sandbox.admin("GET", f"/coinetize/websites/{subdomain}")
    assert link["verification_code"] == linked["verification_code"]
    assert link["link_verification_filename"] == linked["link_verification_filename"]
    assert (
        entry.data[CONF_WEBSITES][subdomain]["verification_code"]
        == (link["verification_code"])
    )

    # Home Assistant restarts: the link is still known, and so is its device.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    stored = entry.data[CONF_WEBSITES][subdomain]
    assert stored["website"] == "blog.example.net"
    assert stored["link_verification_filename"] == link["link_verification_filename"]
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert any(
        any(subdomain in identifier for _domain, identifier in device.identifiers)
        for device in devices
    )

    await sandbox.admin("POST", f"/coinetize/websites/{subdomain}/publish", {})
    verified = await call_action(hass, "verify_website", entry, subdomain=subdomain)
    assert verified == {"message": f"Subdomain {subdomain} successfully verified"}
    assert entry.data[CONF_WEBSITES][subdomain]["verified"] is True

    added = await call_action(
        hass, "add_path", entry, subdomain=subdomain, path="/news"
    )
    assert "/news" in added["enabled_paths"]
    removed = await call_action(
        hass, "remove_path", entry, subdomain=subdomain, path="/news"
    )
    assert "/news" not in removed["enabled_paths"]
    assert "/news" in removed["deleted_paths"]

    review = await call_action(hass, "website_review", entry, subdomain=subdomain)
    assert review["a_record"] is None
    assert set(review) == {"a_record", "htaccess_code"}

    unlinked = await call_action(hass, "unlink_website", entry, subdomain=subdomain)
    assert unlinked == {"message": f"Subdomain {subdomain} unlinked"}
    assert subdomain not in entry.data[CONF_WEBSITES]
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert not any(
        any(subdomain in identifier for _domain, identifier in device.identifiers)
        for device in devices
    )


async def test_dns_website_review(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """A dns website's review names the A record to publish."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    link = await call_action(
        hass,
        "link_website",
        entry,
        website="dns.example.org",
        link_method="dns",
        dns_website="www.dns.example.org",
    )
    review = await call_action(
        hass, "website_review", entry, subdomain=link["subdomain"]
    )
    assert review["a_record"] == {
        "ip_address": seed("coinetize")["server_ip"],
        "website": "www.dns.example.org",
    }


async def test_website_refusals(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """The provider's refusals come back translated, without the token."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    link = await call_action(
        hass, "link_website", entry, website="later.example.com", link_method="redirect"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "verify_website", entry, subdomain=link["subdomain"])
    assert err.value.translation_key == "provider_refused"
    assert "Verification code not found" in str(err.value)
    assert WEBMASTER["auth_token"] not in str(err.value)
    assert entry.data[CONF_WEBSITES][link["subdomain"]]["verified"] is False

    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "link_website", entry, website="shop.example.com", link_method="proxy"
        )
    assert "already linked" in str(err.value)

    # The seeded website was linked outside Home Assistant: only unlinking reaches it.
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "website_review", entry, subdomain="site-0b5e11")
    assert err.value.translation_key == "unknown_subdomain"
    await call_action(hass, "unlink_website", entry, subdomain="site-0b5e11")
    websites = await sandbox.admin("GET", "/coinetize/websites")
    assert "site-0b5e11" not in {w["subdomain"] for w in websites["webmaster"]}


async def test_website_verified_elsewhere_is_remembered(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A dns website verified outside Home Assistant is marked verified, not refused."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    link = await call_action(
        hass,
        "link_website",
        entry,
        website="elsewhere.example.org",
        link_method="dns",
        dns_website="www.elsewhere.example.org",
    )
    subdomain = link["subdomain"]
    await sandbox.admin("POST", f"/coinetize/websites/{subdomain}/publish", {})
    # The owner verifies on Coinetize's own site: Home Assistant is not told.
    await entry.runtime_data.client.verify_website(subdomain)
    assert entry.data[CONF_WEBSITES][subdomain]["verified"] is False

    answer = await call_action(hass, "verify_website", entry, subdomain=subdomain)

    assert "already verified" in answer["message"]
    assert entry.data[CONF_WEBSITES][subdomain]["verified"] is True


async def test_link_website_over_rest(
    hass: HomeAssistant,
    sandbox: Sandbox,
    hass_client: ClientSessionGenerator,
) -> None:
    """An administrator links a website over the REST API and gets the answer back."""
    assert await async_setup_component(hass, "api", {})
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    client = await hass_client()
    response = await client.post(
        "/api/services/coinhub/link_website?return_response",
        json={
            "config_entry_id": entry.entry_id,
            "website": "rest.example.net",
            "link_method": "proxy",
        },
    )
    body = await response.text()
    assert response.status == HTTPStatus.OK, body
    answer = (await response.json())["service_response"]
    linked = await sandbox.admin("GET", f"/coinetize/websites/{answer['subdomain']}")
    assert linked["website"] == "rest.example.net"
    assert entry.data[CONF_WEBSITES][answer["subdomain"]]["website"] == (
        "rest.example.net"
    )

    # A website Coinetize already has is refused with the provider's reason, as a
    # bad request (the REST API's answer to a ServiceValidationError).
    response = await client.post(
        "/api/services/coinhub/link_website?return_response",
        json={
            "config_entry_id": entry.entry_id,
            "website": "rest.example.net",
            "link_method": "proxy",
        },
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    assert "already linked" in (await response.json())["message"]
