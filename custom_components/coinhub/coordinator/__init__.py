"""Coordinators of the CoinHub accounts: one per provider, each polling at its own pace."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN
from ..stores import account_file
from .base import (
    ISSUE_NO_READ_ACCESS,
    ISSUE_RATE_LIMITED,
    CoinHubConfigEntry,
    CoinHubCoordinator,
    issue_id,
)
from .coinetize import (
    COINETIZE_INTERVAL,
    CoinetizeCoordinator,
    CoinetizeData,
    WebsiteState,
    followed_websites,
    websites_journal,
)
from .coinsoftworks import (
    COINSOFTWORKS_INTERVAL,
    CoinsoftworksCoordinator,
    CoinsoftworksData,
    action_finished_event_data,
    executions_store,
)
from .jsecoin import (
    JSECOIN_BLOCK_INTERVAL,
    JSECOIN_HISTORY_SAFETY_INTERVAL,
    HistoryMarker,
    JSEcoinCoordinator,
    JSEcoinData,
    jsecoin_polling_interval,
    transaction_event_data,
)

__all__ = [
    "COINETIZE_INTERVAL",
    "COINSOFTWORKS_INTERVAL",
    "JSECOIN_BLOCK_INTERVAL",
    "JSECOIN_HISTORY_SAFETY_INTERVAL",
    "CoinHubConfigEntry",
    "CoinHubCoordinator",
    "CoinetizeCoordinator",
    "CoinetizeData",
    "CoinsoftworksCoordinator",
    "CoinsoftworksData",
    "HistoryMarker",
    "JSEcoinCoordinator",
    "JSEcoinData",
    "WebsiteState",
    "action_finished_event_data",
    "async_remove_entry_data",
    "followed_websites",
    "jsecoin_polling_interval",
    "transaction_event_data",
]


async def async_remove_entry_data(hass: HomeAssistant, entry_id: str) -> None:
    """Forget what a removed entry left behind: stores on disk and repair issues.

    Its long-term statistics stay: they are the user's history, and the recorder's
    statistics page removes them on request.
    """
    # Through the instance's one file of the entry, so a save still pending is
    # cancelled with the file.
    await account_file(hass, entry_id).async_remove()
    await websites_journal(hass, entry_id).async_remove()
    await executions_store(hass, entry_id).async_remove()
    for issue in (ISSUE_NO_READ_ACCESS, ISSUE_RATE_LIMITED):
        ir.async_delete_issue(hass, DOMAIN, issue_id(issue, entry_id))
