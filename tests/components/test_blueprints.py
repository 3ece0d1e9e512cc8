"""The shipped blueprints: installed on setup when absent, and each one working.

Each blueprint is instantiated as an automation (``use_blueprint``), its trigger is
made to happen against the sandbox, and its default action — a persistent
notification — is seen.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.blueprints import SHIPPED_BLUEPRINTS, install_blueprints
from custom_components.coinhub.const import DOMAIN
from custom_components.coinhub.coordinator import coinsoftworks as coordinator_module
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BOB,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
)
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

SHIPPED = sorted(path.name for path in SHIPPED_BLUEPRINTS.glob("automation/*.yaml"))


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """coinsoftworks answers at once, with a mining action that fails."""
    coinsoftworks = seed("coinsoftworks")
    coinsoftworks["queued_seconds"] = 0
    coinsoftworks["accounts"][0]["actions"].append(
        {
            "action_id": 51,
            "action_name": "Rebalance pools",
            "action_type": "eMining Action",
            "action_status": "Enabled",
            "duration": 0,
            "outcome": "failed",
            "message": "Pool offline",
        }
    )
    return {"coinsoftworks": coinsoftworks}


@pytest.fixture(autouse=True)
def fast_execution_monitor() -> Generator[None]:
    """Follow executions every few milliseconds."""
    with patch.object(coordinator_module, "EXECUTION_MONITOR_FIRST_DELAY", 0.01):
        yield


@pytest.fixture
async def notifications(hass: HomeAssistant) -> list[str]:
    """The messages of the persistent notifications created."""
    assert await async_setup_component(hass, "persistent_notification", {})
    messages: list[str] = []

    @callback
    def collect(
        update_type: persistent_notification.UpdateType,
        changed: dict[str, persistent_notification.Notification],
    ) -> None:
        if update_type is persistent_notification.UpdateType.ADDED:
            messages.extend(n["message"] for n in changed.values())

    persistent_notification.async_register_callback(hass, collect)
    return messages


def blueprint_dir(hass: HomeAssistant) -> Path:
    """Return where CoinHub's automation blueprints are installed."""
    return Path(hass.config.path("blueprints", "automation", DOMAIN))


async def use_blueprint(hass: HomeAssistant, name: str, **inputs: Any) -> None:
    """Create an automation from a CoinHub blueprint; it must load and be on."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": name,
                "alias": name.removesuffix(".yaml"),
                "use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(f"automation.{name.removesuffix('.yaml')}").state == "on"


def device_of(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> str:
    """Return the id of the entry's device with ``identifier``."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, identifier), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_installed_on_setup_without_overwriting(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Setup places every blueprint; a user's edited copy is left as it is."""
    target = blueprint_dir(hass)
    target.mkdir(parents=True, exist_ok=True)
    edited = target / "balance_below.yaml"
    edited.write_text("# my own version\n")

    await setup_entry(hass, jsecoin_entry(sandbox, ALICE))

    assert sorted(path.name for path in target.glob("*.yaml")) == SHIPPED
    assert edited.read_text() == "# my own version\n"
    shipped = SHIPPED_BLUEPRINTS / "automation" / "jse_received.yaml"
    assert (target / "jse_received.yaml").read_text() == shipped.read_text()


def test_install_skips_what_it_cannot_write(tmp_path: Path) -> None:
    """A blueprints folder that cannot be created costs a warning, not the setup."""
    (tmp_path / "automation").write_text("a file where the folder should be")
    assert install_blueprints(SHIPPED_BLUEPRINTS, tmp_path) == []
    assert install_blueprints(SHIPPED_BLUEPRINTS, tmp_path / "fresh") == [
        f"automation/{DOMAIN}/{name}" for name in SHIPPED
    ]
    assert install_blueprints(SHIPPED_BLUEPRINTS, tmp_path / "fresh") == []


async def test_jse_received(
    hass: HomeAssistant, sandbox: Sandbox, notifications: list[str]
) -> None:
    """A transfer in is announced with its amount and reference."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await use_blueprint(
        hass, "jse_received.yaml", account=device_of(hass, entry, "jsecoin_123")
    )
    bob = JSEcoinClient(
        async_get_clientsession(hass),
        BOB["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )
    await bob.transfer(ALICE["email"], Decimal("2.5"), "birthday")
    await poll(hass, entry.runtime_data.update_interval)
    assert notifications == ["2.5 JSE arrived (reference: birthday)"]


async def test_nightly_action(
    hass: HomeAssistant, sandbox: Sandbox, notifications: list[str]
) -> None:
    """At the set time the action runs; its failure is announced with the reason."""
    entry = await setup_entry(hass, coinsoftworks_entry(sandbox))
    await use_blueprint(
        hass,
        "nightly_action.yaml",
        account=device_of(hass, entry, "coinsoftworks_johncb5496"),
        action_name="Rebalance pools",
        at="03:00:00",
    )
    started = sandbox.route_count("coinsoftworks", "/actions/", "POST")
    now = dt_util.now()
    night = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if night <= now:
        night += timedelta(days=1)
    async_fire_time_changed(hass, night)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sandbox.route_count("coinsoftworks", "/actions/", "POST") == started + 1
    assert notifications == ["Rebalance pools failed: Pool offline"]


async def test_balance_below(
    hass: HomeAssistant, sandbox: Sandbox, notifications: list[str]
) -> None:
    """A balance falling below the threshold is warned about, once."""
    entry = await setup_entry(hass, jsecoin_entry(sandbox, ALICE))
    await use_blueprint(
        hass,
        "balance_below.yaml",
        balance_sensor="sensor.jsecoin_123_balance",
        threshold=100,
    )
    await sandbox.admin(
        "POST", "/jsecoin/accounts/alice/balance", {"lookup": "0", "value": "150"}
    )
    await poll(hass, entry.runtime_data.update_interval)
    assert notifications == []
    await sandbox.admin(
        "POST", "/jsecoin/accounts/alice/balance", {"lookup": "0", "value": "42"}
    )
    await poll(hass, entry.runtime_data.update_interval)
    await sandbox.admin(
        "POST", "/jsecoin/accounts/alice/balance", {"lookup": "0", "value": "41"}
    )
    await poll(hass, entry.runtime_data.update_interval)
    assert notifications == ["The balance is 42 JSE, below 100 JSE."]
