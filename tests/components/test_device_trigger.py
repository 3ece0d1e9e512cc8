"""Device triggers end to end: automations on CoinHub devices, the sandbox moving.

Each trigger type runs its automation exactly once for what happened on its own
device, and never for another account's events.
"""

from __future__ import annotations

from collections.abc import Generator
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.coinhub import device_trigger
from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.const import DOMAIN
from custom_components.coinhub.coordinator import coinsoftworks as coordinator_module
from tests.components.conftest import call_action, setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BLOCK_SECONDS,
    BOB,
    JOHN,
    coinetize_entry,
    coinsoftworks_entry,
    jsecoin_entry,
)
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

JSECOIN_TYPES = ["transfer_in", "transfer_out", "import", "export", "income"]
# A mining action that fails, so no wallet option is involved.
FAILING_ACTION = {
    "action_id": 51,
    "action_name": "Rebalance pools",
    "action_type": "eMining Action",
    "action_status": "Enabled",
    "duration": 1,
    "outcome": "failed",
    "message": "Pool offline",
}


@pytest.fixture(autouse=True)
def fast_execution_monitor() -> Generator[None]:
    """Follow executions every few milliseconds; the sandbox clock moves them on."""
    with (
        patch.object(coordinator_module, "EXECUTION_MONITOR_FIRST_DELAY", 0.01),
        patch.object(coordinator_module, "EXECUTION_MONITOR_MAX_DELAY", 0.02),
    ):
        yield


@pytest.fixture
def calls(hass: HomeAssistant) -> list[ServiceCall]:
    """The runs of the test automations."""
    return async_mock_service(hass, "test", "automation")


def device_of(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> str:
    """Return the id of the entry's device with ``identifier``."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, identifier), entry.entry_id
    )
    assert device is not None
    return device.id


async def automate(hass: HomeAssistant, triggers: list[tuple[str, str]]) -> None:
    """Add one automation per (device id, trigger type), recording type and event."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": trigger_type,
                    "triggers": [
                        {
                            "trigger": "device",
                            "domain": DOMAIN,
                            "device_id": device_id,
                            "type": trigger_type,
                        }
                    ],
                    "actions": [
                        {
                            "action": "test.automation",
                            "data": {
                                "type": trigger_type,
                                "data": "{{ trigger.event.data }}",
                            },
                        }
                    ],
                }
                for device_id, trigger_type in triggers
            ]
        },
    )


def fired(calls: list[ServiceCall]) -> list[str]:
    """Return the trigger types that ran, in order."""
    return [call.data["type"] for call in calls]


def client(
    hass: HomeAssistant, sandbox: Sandbox, account: dict[str, Any]
) -> JSEcoinClient:
    """Return a client of a sandbox account, acting outside Home Assistant."""
    return JSEcoinClient(
        async_get_clientsession(hass),
        account["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )


async def test_triggers_listed_per_device(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Each kind of CoinHub device offers its own trigger types."""
    alice = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    john = await setup_entry(hass, coinsoftworks_entry(sandbox))
    coinetize = await setup_entry(
        hass,
        coinetize_entry(
            sandbox,
            websites={
                "site-0b5e11": {
                    "website": "shop.example.com",
                    "link_method": "proxy",
                    "verified": True,
                }
            },
        ),
    )

    async def types(device_id: str) -> list[str]:
        triggers = await async_get_device_automations(
            hass, DeviceAutomationType.TRIGGER, device_id
        )
        return [t["type"] for t in triggers if t["domain"] == DOMAIN]

    assert await types(device_of(hass, alice, "jsecoin_123")) == JSECOIN_TYPES
    assert await types(device_of(hass, john, "coinsoftworks_johncb5496")) == [
        "action_completed",
        "action_failed",
    ]
    account = coinetize.runtime_data.account_id
    assert await types(device_of(hass, coinetize, f"{account}_site-0b5e11")) == [
        "verified"
    ]
    assert await types(device_of(hass, coinetize, account)) == []

    # A trigger type the device does not have is refused.
    with pytest.raises(InvalidDeviceAutomationConfig):
        await device_trigger.async_attach_trigger(
            hass,
            {"device_id": device_of(hass, alice, "jsecoin_123"), "type": "verified"},
            lambda *args: None,
            {"trigger_data": {}},  # type: ignore[typeddict-item]
        )
    assert await device_trigger.async_get_triggers(hass, "not-a-device") == []
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "jsecoin_123")}
    )
    assert await device_trigger.async_get_triggers(hass, foreign.id) == []


async def test_jsecoin_triggers_fire_once(
    hass: HomeAssistant, sandbox: Sandbox, calls: list[ServiceCall]
) -> None:
    """Received, sent, exported, imported and income: each runs its automation once."""
    entry: MockConfigEntry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    # Bob's account is in Home Assistant too: his events are not Alice's.
    bob_entry = await setup_entry(hass, jsecoin_entry(sandbox, BOB))
    alice_device = device_of(hass, entry, "jsecoin_123")
    await automate(hass, [(alice_device, kind) for kind in JSECOIN_TYPES])
    interval = entry.runtime_data.update_interval
    alice, bob = client(hass, sandbox, ALICE), client(hass, sandbox, BOB)

    async def polled() -> list[str]:
        await poll(hass, interval)
        await poll(hass, bob_entry.runtime_data.update_interval)
        return fired(calls)

    await bob.transfer(ALICE["email"], Decimal(2), "for-alice")
    assert await polled() == ["transfer_in"]
    assert calls[0].data["data"]["value"] == 2.0
    assert calls[0].data["data"]["reference"] == "for-alice"

    await alice.transfer(BOB["email"], Decimal(1), "for-bob")
    assert await polled() == ["transfer_in", "transfer_out"]

    sandbox.context.clock.advance(BLOCK_SECONDS)
    code = (await alice.export_coins(Decimal(3))).coin_code
    assert await polled() == ["transfer_in", "transfer_out", "export"]

    sandbox.context.clock.advance(BLOCK_SECONDS)
    await alice.import_coins(code)
    assert await polled() == ["transfer_in", "transfer_out", "export", "import"]

    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    expected = ["transfer_in", "transfer_out", "export", "import", "income"]
    assert await polled() == expected
    assert calls[-1].data["data"]["value"] == 0.5

    # Nothing new: nothing runs again.
    assert await polled() == expected


async def test_coinsoftworks_triggers_fire_once(
    hass: HomeAssistant, sandbox: Sandbox, calls: list[ServiceCall]
) -> None:
    """A completed and a failed execution each run their automation once."""
    await sandbox.admin(
        "POST", f"/coinsoftworks/accounts/{JOHN['api_key']}/actions", FAILING_ACTION
    )
    entry = await setup_entry(hass, coinsoftworks_entry(sandbox))
    john = device_of(hass, entry, "coinsoftworks_johncb5496")
    await automate(hass, [(john, "action_completed"), (john, "action_failed")])
    for action in ("Claim mining rewards", "Rebalance pools"):
        await call_action(hass, "execute_action", entry, action=action, wait=False)
        sandbox.context.clock.advance(60)  # the execution runs its course
        await hass.async_block_till_done(wait_background_tasks=True)
    assert fired(calls) == ["action_completed", "action_failed"]
    assert calls[1].data["data"]["message"] == "Pool offline"


async def test_website_verified_fires_once(
    hass: HomeAssistant, sandbox: Sandbox, calls: list[ServiceCall]
) -> None:
    """Verified through the action, or found verified by a poll: once each."""
    entry = await setup_entry(hass, coinetize_entry(sandbox))
    first = await call_action(
        hass, "link_website", entry, website="blog.example.net", link_method="proxy"
    )
    second = await call_action(
        hass, "link_website", entry, website="news.example.net", link_method="redirect"
    )
    account = entry.runtime_data.account_id
    first_device = device_of(hass, entry, f"{account}_{first['subdomain']}")
    second_device = device_of(hass, entry, f"{account}_{second['subdomain']}")
    await automate(hass, [(first_device, "verified"), (second_device, "verified")])

    await sandbox.admin("POST", f"/coinetize/websites/{first['subdomain']}/publish", {})
    await call_action(hass, "verify_website", entry, subdomain=first["subdomain"])
    await hass.async_block_till_done()
    await poll(hass, entry.runtime_data.update_interval)
    assert fired(calls) == ["verified"]
    assert calls[0].data["data"]["subdomain"] == first["subdomain"]

    # The second website is verified on Coinetize's own site; a poll finds it. Its
    # trigger is its own device's: the first website's automation stays quiet.
    await sandbox.admin(
        "POST", f"/coinetize/websites/{second['subdomain']}/publish", {}
    )
    await entry.runtime_data.client.verify_website(second["subdomain"])
    await poll(hass, entry.runtime_data.update_interval)
    await poll(hass, entry.runtime_data.update_interval)
    assert fired(calls) == ["verified", "verified"]
    assert calls[1].data["data"]["subdomain"] == second["subdomain"]
