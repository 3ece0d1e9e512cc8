"""Diagnostics of a CoinHub entry: its settings and what the provider answered, redacted."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_ACCESS_TOKEN, CONF_AUTH_TOKEN
from .coordinator import CoinHubConfigEntry

# Secrets, cash and personal data, wherever they appear: credentials and tokens,
# verification codes (they prove website ownership), coin codes, the counterparties of
# JSEcoin transfers, and account names and ids (the title and unique id carry them too).
TO_REDACT: Final = {
    CONF_API_KEY,
    CONF_AUTH_TOKEN,
    CONF_ACCESS_TOKEN,
    "bearer_token",
    "token",
    "verification_code",
    "coin_code",
    "coinCode",
    "counterparty_email",
    "counterparty_public_key",
    "email",
    "public_key",
    CONF_USERNAME,
    "title",
    "unique_id",
    "user_id",
    # A setup error's placeholders name the account.
    "account",
}


def _jsonable(value: Any) -> Any:
    """Return provider data (dataclasses, amounts, times, enums) as JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        # Fields kept out of a repr (coin codes and their digests) stay out here too.
        return {
            f.name: _jsonable(getattr(value, f.name)) for f in fields(value) if f.repr
        }
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _entry(entry: CoinHubConfigEntry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "unique_id": entry.unique_id,
        "data": dict(entry.data),
        "options": dict(entry.options),
    }


def _last_error(entry: CoinHubConfigEntry) -> dict[str, Any] | None:
    """Return why the entry did not load, as Home Assistant recorded it."""
    if entry.reason is None and entry.error_reason_translation_key is None:
        return None
    reason = entry.reason
    if reason and entry.title:
        # The translated message names the account, as the title does.
        reason = reason.replace(entry.title, REDACTED)
    return {
        "reason": reason,
        "translation_key": entry.error_reason_translation_key,
        "translation_placeholders": entry.error_reason_translation_placeholders,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CoinHubConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings and its coordinator's data, without secrets.

    An entry that did not load (waiting for a setup retry, failed, or unloaded) has no
    coordinator: its diagnostics say what is known, its settings and the last error.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return async_redact_data(
            {
                "entry": _entry(entry),
                "state": entry.state.value,
                "last_error": _last_error(entry),
            },
            TO_REDACT,
        )
    coordinator = entry.runtime_data
    update_interval = coordinator.update_interval
    return async_redact_data(
        {
            "entry": _entry(entry),
            "coordinator": {
                "provider": coordinator.provider.value,
                "last_update_success": coordinator.last_update_success,
                "update_interval": None
                if update_interval is None
                else update_interval.total_seconds(),
            },
            "data": _jsonable(coordinator.data),
        },
        TO_REDACT,
    )
