"""The CoinHub actions: JSEcoin coins and blocks, coinsoftworks runs, Coinetize websites.

Every action names its account with ``config_entry_id``. The entry must be loaded and
hold an account of the provider the action belongs to. Client errors become translated
Home Assistant errors in one place (:func:`_translated`): refusals the user can act on
are :class:`ServiceValidationError`, provider and connection trouble
:class:`HomeAssistantError`. No message carries a secret or a coin code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
import re
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
import probatio as vol

from .api.coinetize import AlreadyVerifiedError, LinkMethod, Paths
from .api.coinsoftworks import Action
from .api.exceptions import (
    AccessLevelError,
    AccountLockedError,
    AuthenticationError,
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    OutcomeUnknownError,
    ProviderRefusedError,
    RateLimitedError,
)
from .api.jsecoin import AMOUNT_DECIMALS, MAX_REFERENCE_LENGTH, MIN_AMOUNT
from .const import ATTR_CONFIG_ENTRY_ID, CONF_WEBSITES, DOMAIN, LOGGER, MANUFACTURERS
from .coordinator import (
    CoinetizeCoordinator,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
    JSEcoinCoordinator,
)
from .transfers import transfer_guard

SERVICE_TRANSFER: Final = "transfer"
SERVICE_EXPORT_COINS: Final = "export_coins"
SERVICE_IMPORT_COINS: Final = "import_coins"
SERVICE_GET_BLOCK: Final = "get_block"
SERVICE_EXECUTE_ACTION: Final = "execute_action"
SERVICE_LINK_WEBSITE: Final = "link_website"
SERVICE_VERIFY_WEBSITE: Final = "verify_website"
SERVICE_UNLINK_WEBSITE: Final = "unlink_website"
SERVICE_ADD_PATH: Final = "add_path"
SERVICE_REMOVE_PATH: Final = "remove_path"
SERVICE_WEBSITE_REVIEW: Final = "website_review"

ATTR_RECIPIENT: Final = "recipient"
ATTR_AMOUNT: Final = "amount"
ATTR_REFERENCE: Final = "reference"
ATTR_COIN_CODE: Final = "coin_code"
ATTR_BLOCK: Final = "block"
ATTR_ACTION: Final = "action"
ATTR_PARAMETERS: Final = "parameters"
ATTR_WAIT: Final = "wait"
ATTR_TIMEOUT: Final = "timeout"
ATTR_WEBSITE: Final = "website"
ATTR_LINK_METHOD: Final = "link_method"
ATTR_DNS_WEBSITE: Final = "dns_website"
ATTR_PROTOCOL: Final = "protocol"
ATTR_PATH: Final = "path"
ATTR_PORT: Final = "port"
ATTR_SUBDOMAIN: Final = "subdomain"
ATTR_V_FILE: Final = "v_file"

# A Coinetize subdomain is a host name: letters, digits and hyphens, in dot-separated
# labels. Checked before a subdomain this entry did not link is sent anywhere.
SUBDOMAIN_FORM: Final = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
MAX_SUBDOMAIN_LENGTH: Final = 253

# The access level a JSEcoin key needs to move value, when a refusal does not say.
WRITE_ACCESS_LEVEL: Final = 2

DEFAULT_EXECUTION_TIMEOUT: Final = 60.0
MAX_EXECUTION_TIMEOUT: Final = 3600.0

# Fields whose refusal by a client has its own message (``invalid_<field>``); other
# fields get ``invalid_input``.
INPUT_PLACEHOLDERS: Final[dict[str, dict[str, str]]] = {
    ATTR_AMOUNT: {"min_amount": f"{MIN_AMOUNT:f}", "decimals": str(AMOUNT_DECIMALS)},
    ATTR_RECIPIENT: {},
    ATTR_REFERENCE: {"max_length": str(MAX_REFERENCE_LENGTH)},
    ATTR_COIN_CODE: {},
    ATTR_BLOCK: {},
    ATTR_WEBSITE: {},
    ATTR_DNS_WEBSITE: {},
    ATTR_LINK_METHOD: {},
    ATTR_PROTOCOL: {},
    ATTR_PATH: {},
    ATTR_PORT: {},
    ATTR_SUBDOMAIN: {},
    ATTR_V_FILE: {},
}


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


ENTRY_SCHEMA: Final = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
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
LINK_WEBSITE_SCHEMA: Final = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_WEBSITE): cv.string,
        vol.Required(ATTR_LINK_METHOD): vol.In([method.value for method in LinkMethod]),
        vol.Optional(ATTR_DNS_WEBSITE): cv.string,
        vol.Optional(ATTR_PROTOCOL): cv.string,
        vol.Optional(ATTR_PATH): cv.string,
        vol.Optional(ATTR_PORT): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
    }
)
SUBDOMAIN_SCHEMA: Final = ENTRY_SCHEMA.extend({vol.Required(ATTR_SUBDOMAIN): cv.string})
VERIFY_WEBSITE_SCHEMA: Final = SUBDOMAIN_SCHEMA.extend(
    {vol.Optional(ATTR_V_FILE): cv.string}
)
PATH_SCHEMA: Final = SUBDOMAIN_SCHEMA.extend({vol.Required(ATTR_PATH): cv.string})


# JSEcoin


async def _transfer(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Send JSE to an e-mail address or public key, within the entry's limits."""
    notification = await transfer_guard(call.hass, coordinator).async_transfer(
        coordinator,
        call.data[ATTR_RECIPIENT],
        call.data[ATTR_AMOUNT],
        call.data[ATTR_REFERENCE],
    )
    return {"status": "sent", "notification": notification}


async def _export_coins(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Turn JSE into a coin code; the code is answered to the caller and nowhere else."""
    result = await transfer_guard(call.hass, coordinator).async_export(
        coordinator, call.data[ATTR_AMOUNT]
    )
    return {"coin_code": result.coin_code, "notification": result.notification}


async def _import_coins(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Credit a coin code's value; one write of the account at a time."""
    async with transfer_guard(call.hass, coordinator).lock:
        result = await coordinator.client.import_coins(call.data[ATTR_COIN_CODE])
    await coordinator.async_request_refresh()
    return {"value": float(result.value)}


async def _get_block(coordinator: JSEcoinCoordinator, call: ServiceCall) -> Any:
    """Return a block with its transactions; the current block by default."""
    number = call.data.get(ATTR_BLOCK)
    if number is None:
        number = await coordinator.client.current_block_id()
    block = await coordinator.client.block(number)
    return block.as_dict()


# coinsoftworks


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
        wait=call.data[ATTR_WAIT],
        timeout=call.data[ATTR_TIMEOUT],
    )
    return {
        "execution_id": execution.execution_id,
        "status": execution.status.value,
        "result": execution.result,
        "message": execution.message,
    }


# Coinetize


def _subdomain(call: ServiceCall) -> str:
    """Return the call's subdomain if it has the form of one; refuse before sending."""
    subdomain: str = call.data[ATTR_SUBDOMAIN]
    if len(subdomain) > MAX_SUBDOMAIN_LENGTH or not SUBDOMAIN_FORM.fullmatch(subdomain):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_subdomain"
        )
    return subdomain


def _linked_subdomain(coordinator: CoinetizeCoordinator, call: ServiceCall) -> str:
    """Return the call's subdomain if this entry linked it; refuse before sending."""
    subdomain = _subdomain(call)
    websites: Mapping[str, Any] = coordinator.config_entry.data.get(CONF_WEBSITES, {})
    if subdomain not in websites:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_subdomain",
            translation_placeholders={"subdomains": ", ".join(sorted(websites)) or "-"},
        )
    return subdomain


async def _link_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Link a website and keep what Coinetize hands out once, before answering."""
    options = {
        key: call.data[key]
        for key in (ATTR_DNS_WEBSITE, ATTR_PROTOCOL, ATTR_PATH, ATTR_PORT)
        if key in call.data
    }
    website, method = call.data[ATTR_WEBSITE], call.data[ATTR_LINK_METHOD]
    link = await coordinator.client.link_website(website, method, **options)
    await coordinator.async_remember_website(
        link.subdomain,
        {
            ATTR_WEBSITE: website,
            ATTR_LINK_METHOD: method,
            "verification_code": link.verification_code,
            "link_verification_filename": link.link_verification_filename,
            ATTR_DNS_WEBSITE: options.get(ATTR_DNS_WEBSITE),
            ATTR_PROTOCOL: options.get(ATTR_PROTOCOL),
            ATTR_PATH: options.get(ATTR_PATH),
            ATTR_PORT: options.get(ATTR_PORT),
            "verified": False,
        },
    )
    return {
        "subdomain": link.subdomain,
        "verification_code": link.verification_code,
        "link_verification_filename": link.link_verification_filename,
    }


async def _verify_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Ask Coinetize to verify a linked website, and remember that it is verified."""
    subdomain = _linked_subdomain(coordinator, call)
    try:
        result = await coordinator.client.verify_website(
            subdomain, call.data.get(ATTR_V_FILE)
        )
    except AlreadyVerifiedError as err:
        # Verified outside Home Assistant: the state to remember all the same.
        await coordinator.async_mark_verified(subdomain)
        return {"message": err.notification}
    await coordinator.async_mark_verified(subdomain)
    return {"message": result.message}


async def _unlink_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Unlink a website and forget it.

    Unlike the other website actions this one also sends subdomains this entry did not
    link: Coinetize has no call that lists an account's websites, so this is the only
    way to unlink one linked elsewhere. The provider refuses subdomains that are not
    the account's.
    """
    subdomain = _subdomain(call)
    result = await coordinator.client.unlink_website(subdomain)
    if subdomain in coordinator.config_entry.data.get(CONF_WEBSITES, {}):
        await coordinator.async_forget_website(subdomain)
    return {"message": result.message}


def _paths_response(paths: Paths) -> dict[str, Any]:
    """Return a website's paths as the path actions answer them."""
    return {
        "enabled_paths": list(paths.enabled_paths),
        "deleted_paths": list(paths.deleted_paths),
    }


async def _add_path(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Enable a path of a linked website."""
    subdomain = _linked_subdomain(coordinator, call)
    paths = await coordinator.client.add_path(subdomain, call.data[ATTR_PATH])
    await coordinator.async_request_refresh()
    return _paths_response(paths)


async def _remove_path(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Remove a path of a linked website."""
    subdomain = _linked_subdomain(coordinator, call)
    paths = await coordinator.client.remove_path(subdomain, call.data[ATTR_PATH])
    await coordinator.async_request_refresh()
    return _paths_response(paths)


async def _website_review(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Return the DNS A record and .htaccess code a linked website needs."""
    review = await coordinator.client.review(_linked_subdomain(coordinator, call))
    record = review.a_record
    return {
        "a_record": None
        if record is None
        else {"ip_address": record.ip_address, "website": record.website},
        "htaccess_code": review.htaccess_code,
    }


# Registration


@dataclass(frozen=True, slots=True)
class ActionDefinition[C: CoinHubCoordinator[Any]]:
    """One action: the provider it needs, what it does, its schema and its answer."""

    coordinator_type: type[C]
    run: Callable[[C, ServiceCall], Awaitable[Any]]
    schema: vol.Schema
    supports_response: SupportsResponse


ACTIONS: Final[dict[str, ActionDefinition[Any]]] = {
    SERVICE_TRANSFER: ActionDefinition(
        JSEcoinCoordinator, _transfer, TRANSFER_SCHEMA, SupportsResponse.OPTIONAL
    ),
    # The coin code is cash: a caller that does not take the answer would lose it.
    SERVICE_EXPORT_COINS: ActionDefinition(
        JSEcoinCoordinator, _export_coins, EXPORT_COINS_SCHEMA, SupportsResponse.ONLY
    ),
    SERVICE_IMPORT_COINS: ActionDefinition(
        JSEcoinCoordinator,
        _import_coins,
        IMPORT_COINS_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    SERVICE_GET_BLOCK: ActionDefinition(
        JSEcoinCoordinator, _get_block, GET_BLOCK_SCHEMA, SupportsResponse.ONLY
    ),
    SERVICE_EXECUTE_ACTION: ActionDefinition(
        CoinsoftworksCoordinator,
        _execute_action,
        EXECUTE_ACTION_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    SERVICE_LINK_WEBSITE: ActionDefinition(
        CoinetizeCoordinator,
        _link_website,
        LINK_WEBSITE_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    SERVICE_VERIFY_WEBSITE: ActionDefinition(
        CoinetizeCoordinator,
        _verify_website,
        VERIFY_WEBSITE_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    SERVICE_UNLINK_WEBSITE: ActionDefinition(
        CoinetizeCoordinator,
        _unlink_website,
        SUBDOMAIN_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    SERVICE_ADD_PATH: ActionDefinition(
        CoinetizeCoordinator, _add_path, PATH_SCHEMA, SupportsResponse.OPTIONAL
    ),
    SERVICE_REMOVE_PATH: ActionDefinition(
        CoinetizeCoordinator, _remove_path, PATH_SCHEMA, SupportsResponse.OPTIONAL
    ),
    SERVICE_WEBSITE_REVIEW: ActionDefinition(
        CoinetizeCoordinator,
        _website_review,
        SUBDOMAIN_SCHEMA,
        SupportsResponse.ONLY,
    ),
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


# Client errors, most specific first: (type, Home Assistant error, translation key).
ERROR_TRANSLATIONS: Final[
    tuple[tuple[type[CoinHubError], type[HomeAssistantError], str], ...]
] = (
    (AccountLockedError, HomeAssistantError, "account_locked"),
    (ProviderRefusedError, ServiceValidationError, "provider_refused"),
    (AccessLevelError, HomeAssistantError, "provider_access_level"),
    (AuthenticationError, HomeAssistantError, "provider_auth_failed"),
    (RateLimitedError, HomeAssistantError, "provider_rate_limited"),
    (OutcomeUnknownError, HomeAssistantError, "provider_outcome_unknown"),
    (CannotConnectError, HomeAssistantError, "provider_unreachable"),
    (CoinHubError, HomeAssistantError, "provider_error"),
)


def _translated(err: CoinHubError, coordinator: CoinHubCoordinator[Any]) -> Exception:
    """Return the translated Home Assistant error a client error stands for."""
    if isinstance(err, InvalidInputError):
        if err.field in INPUT_PLACEHOLDERS:
            return ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=f"invalid_{err.field}",
                translation_placeholders=INPUT_PLACEHOLDERS[err.field],
            )
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_input",
            translation_placeholders={"field": err.field},
        )
    placeholders = {"provider": MANUFACTURERS[coordinator.provider]}
    if isinstance(err, AccountLockedError):
        placeholders["seconds"] = f"{err.retry_after:g}"
    elif isinstance(err, ProviderRefusedError):
        placeholders["notification"] = err.notification
    elif isinstance(err, AccessLevelError):
        placeholders["level"] = str(err.required_level or WRITE_ACCESS_LEVEL)
    error_type, key = next(
        (error_type, key)
        for client_error, error_type, key in ERROR_TRANSLATIONS
        if isinstance(err, client_error)
    )
    return error_type(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def _handler(
    name: str, definition: ActionDefinition[Any]
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """Wrap an action: resolve its entry, run it, translate client errors."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        coordinator = _coordinator(call, definition.coordinator_type)
        try:
            response: ServiceResponse = await definition.run(coordinator, call)
        except CoinHubError as err:
            # Client messages carry no secret; the type tells what happened.
            LOGGER.debug("Action %s failed: %s", name, type(err).__name__)
            if isinstance(err, AuthenticationError) and not isinstance(
                err, AccessLevelError
            ):
                coordinator.config_entry.async_start_reauth(call.hass)
            raise _translated(err, coordinator) from None
        return response

    return handle


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every CoinHub action once, for all entries."""
    for name, definition in ACTIONS.items():
        hass.services.async_register(
            DOMAIN,
            name,
            _handler(name, definition),
            schema=definition.schema,
            supports_response=definition.supports_response,
        )
