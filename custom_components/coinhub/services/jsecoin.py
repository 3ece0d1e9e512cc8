"""JSEcoin actions: transfers and coin exports within the entry's limits, blocks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from homeassistant.core import ServiceCall, SupportsResponse
from homeassistant.helpers import config_validation as cv
import probatio as vol

from ..coordinator import JSEcoinCoordinator
from .action import ENTRY_SCHEMA, ActionDefinition

SERVICE_TRANSFER: Final = "transfer"
SERVICE_EXPORT_COINS: Final = "export_coins"
SERVICE_IMPORT_COINS: Final = "import_coins"
SERVICE_GET_BLOCK: Final = "get_block"

ATTR_RECIPIENT: Final = "recipient"
ATTR_AMOUNT: Final = "amount"
ATTR_REFERENCE: Final = "reference"
ATTR_COIN_CODE: Final = "coin_code"
ATTR_BLOCK: Final = "block"


def _amount(value: Any) -> Decimal:
    """Read an amount exactly: a float as it prints, text or a whole number as written.

    Range, finiteness and decimals are the client's to check (``format_amount``), so
    the refusal is translated and names the limits.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise vol.Invalid("expected a number")
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise vol.Invalid("expected a number") from None


def _block_number(value: Any) -> int:
    """Read a block number; a fraction is refused, not cut off."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise vol.Invalid("expected a whole number")
    number: int = cv.positive_int(value)
    return number


TRANSFER_SCHEMA: Final = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_RECIPIENT): cv.string,
        vol.Required(ATTR_AMOUNT): _amount,
        vol.Required(ATTR_REFERENCE): cv.string,
    }
)
EXPORT_COINS_SCHEMA: Final = ENTRY_SCHEMA.extend({vol.Required(ATTR_AMOUNT): _amount})
IMPORT_COINS_SCHEMA: Final = ENTRY_SCHEMA.extend(
    {vol.Required(ATTR_COIN_CODE): cv.string}
)
GET_BLOCK_SCHEMA: Final = ENTRY_SCHEMA.extend({vol.Optional(ATTR_BLOCK): _block_number})


async def _transfer(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Send JSE to an e-mail address or public key, within the entry's limits."""
    notification = await coordinator.transfers.async_transfer(
        call.data[ATTR_RECIPIENT],
        call.data[ATTR_AMOUNT],
        call.data[ATTR_REFERENCE],
    )
    return {"status": "sent", "notification": notification}


async def _export_coins(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Turn JSE into a coin code; the code is answered to the caller and nowhere else."""
    result = await coordinator.transfers.async_export(call.data[ATTR_AMOUNT])
    return {"coin_code": result.coin_code, "notification": result.notification}


async def _import_coins(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Credit a coin code's value; says whether a lost answer was settled from history."""
    imported = await coordinator.transfers.async_import(call.data[ATTR_COIN_CODE])
    return {
        "value": float(imported.value),
        "confirmed_from_history": imported.confirmed_from_history,
    }


async def _get_block(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Return a block with its transactions; the current block by default."""
    number = call.data.get(ATTR_BLOCK)
    if number is None:
        number = await coordinator.client.current_block_id()
    block = await coordinator.client.block(number)
    return block.as_dict()


ACTIONS: Final[dict[str, ActionDefinition[JSEcoinCoordinator]]] = {
    SERVICE_TRANSFER: ActionDefinition(
        coordinator_type=JSEcoinCoordinator,
        run=_transfer,
        schema=TRANSFER_SCHEMA,
        admin=True,
    ),
    # The coin code is cash: a caller that does not take the answer would lose it.
    SERVICE_EXPORT_COINS: ActionDefinition(
        coordinator_type=JSEcoinCoordinator,
        run=_export_coins,
        schema=EXPORT_COINS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
        admin=True,
    ),
    SERVICE_IMPORT_COINS: ActionDefinition(
        coordinator_type=JSEcoinCoordinator,
        run=_import_coins,
        schema=IMPORT_COINS_SCHEMA,
        admin=True,
    ),
    SERVICE_GET_BLOCK: ActionDefinition(
        coordinator_type=JSEcoinCoordinator,
        run=_get_block,
        schema=GET_BLOCK_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    ),
}
