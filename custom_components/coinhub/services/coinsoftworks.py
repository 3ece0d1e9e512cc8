"""coinsoftworks actions: execute an account's action and answer how it stands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio as vol

from ..api.coinsoftworks import Action
from ..const import CONF_ALLOW_WALLET_ACTIONS, DEFAULT_ALLOW_WALLET_ACTIONS, DOMAIN
from ..coordinator import CoinsoftworksCoordinator
from .action import ENTRY_SCHEMA, ActionDefinition

SERVICE_EXECUTE_ACTION: Final = "execute_action"

ATTR_ACTION: Final = "action"
ATTR_PARAMETERS: Final = "parameters"
ATTR_WAIT: Final = "wait"
ATTR_TIMEOUT: Final = "timeout"

DEFAULT_EXECUTION_TIMEOUT: Final = 60.0
MAX_EXECUTION_TIMEOUT: Final = 3600.0

EXECUTE_ACTION_SCHEMA: Final = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_ACTION): cv.string,
        vol.Optional(ATTR_PARAMETERS): vol.Schema({cv.string: object}),
        vol.Optional(ATTR_WAIT, default=True): cv.boolean,
        vol.Optional(ATTR_TIMEOUT, default=DEFAULT_EXECUTION_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=MAX_EXECUTION_TIMEOUT)
        ),
    }
)


def _find_action(coordinator: CoinsoftworksCoordinator, wanted: str) -> Action:
    """Return the account's action with this id, or this name in any case."""
    actions = coordinator.data.actions
    by_id = {action.action_id: action for action in actions}
    by_name = {action.action_name.casefold(): action for action in actions}
    action = by_id.get(wanted) or by_name.get(wanted.strip().casefold())
    if action is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_action",
            translation_placeholders={
                "actions": ", ".join(sorted(a.action_name for a in actions)) or "-"
            },
        )
    if not action.enabled:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="action_disabled",
            translation_placeholders={"action": action.action_name},
        )
    if action.wallet and not coordinator.config_entry.options.get(
        CONF_ALLOW_WALLET_ACTIONS, DEFAULT_ALLOW_WALLET_ACTIONS
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="wallet_actions_not_allowed",
            translation_placeholders={"action": action.action_name},
        )
    return action


async def _execute_action(
    coordinator: CoinsoftworksCoordinator, call: ServiceCall
) -> Any:
    """Execute an action once and answer how its execution stands."""
    action = _find_action(coordinator, call.data[ATTR_ACTION])
    parameters: Mapping[str, Any] = call.data.get(ATTR_PARAMETERS) or {}
    if missing := [name for name in action.parameters if name not in parameters]:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="action_parameters_missing",
            translation_placeholders={
                "action": action.action_name,
                "parameters": ", ".join(missing),
            },
        )
    execution = await coordinator.async_execute(
        action,
        parameters or None,
        wait=call.data[ATTR_TIMEOUT] if call.data[ATTR_WAIT] else None,
    )
    return {
        "execution_id": execution.execution_id,
        "status": execution.status.value,
        "result": execution.result,
        "message": execution.message,
    }


ACTIONS: Final[dict[str, ActionDefinition[CoinsoftworksCoordinator]]] = {
    SERVICE_EXECUTE_ACTION: ActionDefinition(
        coordinator_type=CoinsoftworksCoordinator,
        run=_execute_action,
        schema=EXECUTE_ACTION_SCHEMA,
        admin=True,
    ),
}
