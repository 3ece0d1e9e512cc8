"""The CoinHub actions: JSEcoin coins and blocks, coinsoftworks runs, Coinetize websites.

Every action names its account with ``config_entry_id``. The entry must be loaded and
hold an account of the provider the action belongs to. Client errors become translated
Home Assistant errors through :func:`..errors.translated_errors`. No message carries a
secret or a coin code.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.service import (
    async_get_config_entry,
    async_register_admin_service,
)

from ..const import ATTR_CONFIG_ENTRY_ID, DOMAIN, MANUFACTURERS
from ..coordinator import CoinHubCoordinator
from ..errors import translated_errors
from . import coinetize, coinsoftworks, jsecoin
from .action import ActionDefinition

ACTIONS: Final[dict[str, ActionDefinition[Any]]] = {
    **jsecoin.ACTIONS,
    **coinsoftworks.ACTIONS,
    **coinetize.ACTIONS,
}


def _coordinator[C: CoinHubCoordinator[Any]](
    call: ServiceCall, coordinator_type: type[C]
) -> C:
    """Return the coordinator of the call's entry: loaded and of the right provider."""
    entry = async_get_config_entry(call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID])
    coordinator = entry.runtime_data
    if not isinstance(coordinator, coordinator_type):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="wrong_provider",
            translation_placeholders={
                "entry_title": entry.title,
                "provider": MANUFACTURERS[coordinator_type.provider],
            },
        )
    return coordinator


def _handler(
    definition: ActionDefinition[Any],
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """Wrap an action: resolve its entry, run it, translate client errors."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        coordinator = _coordinator(call, definition.coordinator_type)
        async with translated_errors(coordinator):
            response: ServiceResponse = await definition.run(coordinator, call)
        return response

    return handle


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every CoinHub action once, for all entries.

    Actions that change an account are for administrators only: Home Assistant refuses
    other users' calls (``Unauthorized``) before the handler runs, so nothing is sent.
    """
    for name, definition in ACTIONS.items():
        if definition.admin:
            async_register_admin_service(
                hass,
                DOMAIN,
                name,
                _handler(definition),
                definition.schema,
                definition.supports_response,
            )
        else:
            hass.services.async_register(
                DOMAIN,
                name,
                _handler(definition),
                schema=definition.schema,
                supports_response=definition.supports_response,
            )
