"""How a provider client's error becomes a Home Assistant error, in one table.

Polls, actions, buttons and the config flow all read :data:`ERROR_RULES`: which
translation key a failure has, whether the user can fix it (a
:class:`ServiceValidationError`), whether the stored credentials are at fault (the
entry is reauthenticated) and which form error the config flow shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed

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
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .coordinator import CoinHubCoordinator

# Translation keys a coordinator reacts to with a repair issue.
KEY_ACCESS_LEVEL: Final = "access_level"
KEY_RATE_LIMITED: Final = "rate_limited"

# The access level a JSEcoin key needs to move value, when a refusal does not say.
WRITE_ACCESS_LEVEL: Final = 2

# Input fields whose refusal has its own message (``invalid_<field>``) and the
# placeholders it names; other fields get ``invalid_input``.
INPUT_PLACEHOLDERS: Final[Mapping[str, Mapping[str, str]]] = {
    "amount": {"min_amount": f"{MIN_AMOUNT:f}", "decimals": str(AMOUNT_DECIMALS)},
    "recipient": {},
    "reference": {"max_length": str(MAX_REFERENCE_LENGTH)},
    "coin_code": {},
    "block": {},
    "website": {},
    "dns_website": {},
    "link_method": {},
    "protocol": {},
    "path": {},
    "port": {},
    "subdomain": {},
    "v_file": {},
}


def _input_key(err: InvalidInputError) -> str:
    if err.field in INPUT_PLACEHOLDERS:
        return f"invalid_{err.field}"
    return "invalid_input"


def _input_placeholders(err: InvalidInputError) -> Mapping[str, str]:
    return INPUT_PLACEHOLDERS.get(err.field, {"field": err.field})


def _no_placeholders(err: CoinHubError) -> Mapping[str, str]:
    return {}


def _never(err: CoinHubError) -> bool:
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRule[E: CoinHubError]:
    """What one kind of client error means to Home Assistant."""

    error: type[E]
    key: str | Callable[[E], str]
    """Translation key of the ``exceptions`` section (or how to pick it)."""
    placeholders: Callable[[E], Mapping[str, str]] = _no_placeholders
    """Placeholders the error adds to the account's (``provider``, ``account``)."""
    user_error: bool = False
    """The user can fix the request: a ``ServiceValidationError``."""
    reauth: Callable[[E], bool] = _never
    """The stored credentials are at fault: the entry is reauthenticated."""
    form_error: str | None = None
    """The config flow's form error; ``None`` shows "unknown" and logs the error."""

    def translation_key(self, err: E) -> str:
        """Return the translation key of ``err``."""
        return self.key if isinstance(self.key, str) else self.key(err)


# Most specific first: the first rule whose error type matches applies.
ERROR_RULES: Final[tuple[ErrorRule[Any], ...]] = (
    ErrorRule[InvalidInputError](
        error=InvalidInputError,
        key=_input_key,
        placeholders=_input_placeholders,
        user_error=True,
    ),
    ErrorRule[AccountLockedError](
        error=AccountLockedError,
        key="account_locked",
        placeholders=lambda err: {"seconds": f"{err.retry_after:g}"},
    ),
    ErrorRule[ProviderRefusedError](
        error=ProviderRefusedError,
        key="provider_refused",
        placeholders=lambda err: {"notification": err.notification},
        user_error=True,
    ),
    ErrorRule[AccessLevelError](
        error=AccessLevelError,
        key=KEY_ACCESS_LEVEL,
        placeholders=lambda err: {
            "level": str(err.required_level or WRITE_ACCESS_LEVEL)
        },
        # A key that cannot even read leaves the entry useless: a new key is needed.
        # One that only cannot write keeps working; its level is raised on the site.
        reauth=lambda err: (
            (err.required_level or WRITE_ACCESS_LEVEL) < WRITE_ACCESS_LEVEL
        ),
        form_error="no_read_access",
    ),
    ErrorRule[AuthenticationError](
        error=AuthenticationError,
        key="auth_failed",
        reauth=lambda err: True,
        form_error="invalid_auth",
    ),
    ErrorRule[RateLimitedError](
        error=RateLimitedError, key=KEY_RATE_LIMITED, form_error="rate_limited"
    ),
    ErrorRule[OutcomeUnknownError](error=OutcomeUnknownError, key="outcome_unknown"),
    ErrorRule[CannotConnectError](
        error=CannotConnectError, key="cannot_connect", form_error="cannot_connect"
    ),
    ErrorRule[CoinHubError](error=CoinHubError, key="provider_error"),
)


def rule_for(err: CoinHubError) -> ErrorRule[Any]:
    """Return the rule of a client error."""
    return next(rule for rule in ERROR_RULES if isinstance(err, rule.error))


def form_error(err: Exception, checking: str) -> str:
    """Return the form error of a failure while checking something in a flow.

    Unexpected failures are "unknown" and logged with their traceback; call this from
    an ``except`` block. No secret is logged: client errors carry none.
    """
    if isinstance(err, CoinHubError) and (key := rule_for(err).form_error):
        return key
    LOGGER.exception("Unexpected error while checking %s", checking)
    return "unknown"


@asynccontextmanager
async def translated_errors(
    coordinator: CoinHubCoordinator[Any],
    placeholders: Mapping[str, str] | None = None,
) -> AsyncIterator[None]:
    """Turn a client error raised inside into the translated Home Assistant error.

    Around what a user starts (actions, button presses): see :func:`translated_error`.
    """
    try:
        yield
    except CoinHubError as err:
        raise translated_error(coordinator, err, placeholders) from None


def translated_error(
    coordinator: CoinHubCoordinator[Any],
    err: CoinHubError,
    placeholders: Mapping[str, str] | None = None,
    *,
    polling: bool = False,
) -> HomeAssistantError:
    """Return the translated Home Assistant error of a client error.

    Of a poll (``polling``) the error asks for reauthentication
    (:class:`ConfigEntryAuthFailed`) or a retry later (:class:`UpdateFailed`). Of what
    a user starts it is a :class:`HomeAssistantError`, or a
    :class:`ServiceValidationError` when the user can fix the request, and refused
    credentials start the entry's reauthentication.
    """
    # Client messages carry no secret, but a provider notification may carry
    # personal data: only the error's type goes to the log.
    LOGGER.debug("%s: request failed: %s", coordinator.name, type(err).__name__)
    rule = rule_for(err)
    reauth = rule.reauth(err)
    error_type: type[HomeAssistantError]
    if polling:
        error_type = ConfigEntryAuthFailed if reauth else UpdateFailed
    else:
        error_type = ServiceValidationError if rule.user_error else HomeAssistantError
        if reauth:
            coordinator.config_entry.async_start_reauth(coordinator.hass)
    translated = error_type(
        translation_domain=DOMAIN,
        translation_key=rule.translation_key(err),
        translation_placeholders={
            **coordinator.translation_placeholders,
            **(placeholders or {}),
            **rule.placeholders(err),
        },
    )
    if isinstance(translated, UpdateFailed) and isinstance(err, RateLimitedError):
        translated.retry_after = err.retry_after
    return translated
