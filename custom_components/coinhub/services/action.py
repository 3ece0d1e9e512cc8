"""What every CoinHub action is made of: its account, schema, handler and answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import ServiceCall, SupportsResponse
from homeassistant.helpers import config_validation as cv
import probatio as vol

from ..const import ATTR_CONFIG_ENTRY_ID
from ..coordinator import CoinHubCoordinator

# Every action names the config entry of its account.
ENTRY_SCHEMA: Final = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionDefinition[C: CoinHubCoordinator[Any]]:
    """One action: the provider it needs, what it does, its schema and its answer."""

    coordinator_type: type[C]
    run: Callable[[C, ServiceCall], Awaitable[Any]]
    schema: vol.Schema
    supports_response: SupportsResponse = SupportsResponse.OPTIONAL
    admin: bool = False
    """It changes the account (moves value, links websites): for administrators only."""
