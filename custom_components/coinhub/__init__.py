"""The CoinHub integration: JSEcoin, Coinetize and coinsoftworks accounts."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .account_state import forget_account_state
from .assist import async_register_sentences
from .blueprints import async_install_blueprints
from .const import DOMAIN
from .coordinator import CoinHubConfigEntry, async_remove_entry_data
from .providers import provider_of
from .services import async_setup_services
from .transfers import async_remove_ledger

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.EVENT, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and Assist sentences, install the blueprints; once."""
    async_setup_services(hass)
    async_register_sentences(hass)
    await async_install_blueprints(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CoinHubConfigEntry) -> bool:
    """Set up one provider account from a config entry."""
    coordinator = provider_of(entry).coordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: CoinHubConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
    """Delete what a removed entry left: history marker, websites, ledger, repairs."""
    await async_remove_entry_data(hass, entry.entry_id)
    await async_remove_ledger(hass, entry.entry_id)
    forget_account_state(hass, entry.unique_id or entry.entry_id)
