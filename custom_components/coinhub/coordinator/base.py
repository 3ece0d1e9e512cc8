"""The base of CoinHub's coordinators: polling, the error policy and repair issues.

Every coordinator turns provider errors into translated Home Assistant errors through
:func:`..errors.translated_error`: refused credentials start reauthentication,
everything else makes the entities unavailable until a poll succeeds again. Polling
intervals follow each provider's rate limit; they are not options.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from ..api.exceptions import CoinHubError
from ..const import DOMAIN, LOGGER, MANUFACTURERS, Provider
from ..errors import KEY_ACCESS_LEVEL, KEY_RATE_LIMITED, translated_error

type CoinHubConfigEntry = ConfigEntry[CoinHubCoordinator[Any]]

# Repair issues (translation keys of the "issues" section).
ISSUE_NO_READ_ACCESS: Final = "no_read_access"
ISSUE_RATE_LIMITED: Final = "rate_limited"
# A single refusal is noise (the key's budget is shared with transfers and other
# tools); this many polls refused in a row is worth telling the user about.
RATE_LIMITED_POLLS_BEFORE_ISSUE: Final = 3


class CoinHubCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Poll one provider account and translate its errors.

    Subclasses set :attr:`provider`, build their client, choose their interval with
    :meth:`polling_interval` and fetch in :meth:`_async_poll`.
    """

    provider: ClassVar[Provider]
    config_entry: CoinHubConfigEntry

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up polling for the entry's account."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=self.polling_interval(entry),
            # A poll that finds nothing changed writes no state: the data compares
            # equal (frozen dataclasses all the way down).
            always_update=False,
        )
        self.account_id: str = entry.unique_id or entry.entry_id
        self.account_device_info = DeviceInfo(
            identifiers={(DOMAIN, self.account_id)},
            manufacturer=MANUFACTURERS[self.provider],
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )
        self._rate_limited_polls = 0
        # Repair issues a success closes. At first every one: a load before this one
        # may have opened them.
        self._issues_to_close = {ISSUE_NO_READ_ACCESS, ISSUE_RATE_LIMITED}

    @classmethod
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Return how often the entry's account is polled."""
        raise NotImplementedError

    async def _async_poll(self) -> DataT:
        """Fetch the account's data; client errors are translated by the caller."""
        raise NotImplementedError

    @property
    def translation_placeholders(self) -> dict[str, str]:
        """Return the placeholders every message of this account uses (no secrets)."""
        return {"provider": MANUFACTURERS[self.provider], "account": self.name}

    @override
    async def _async_setup(self) -> None:
        """Register the account's device, which website devices hang under."""
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id, **self.account_device_info
        )

    @override
    async def _async_update_data(self) -> DataT:
        """Poll the account; a failure is translated and may open a repair issue."""
        try:
            data = await self._async_poll()
        except CoinHubError as err:
            translated = translated_error(self, err, polling=True)
            self._track_failure(translated.translation_key)
            raise translated from None
        self._rate_limited_polls = 0
        while self._issues_to_close:
            issue = self._issues_to_close.pop()
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(issue))
        return data

    def _track_failure(self, failure: str | None) -> None:
        """Open a repair issue for a failure the user has to act on."""
        if failure == KEY_ACCESS_LEVEL:
            self._create_issue(ISSUE_NO_READ_ACCESS)
        elif failure == KEY_RATE_LIMITED:
            self._rate_limited_polls += 1
            if self._rate_limited_polls >= RATE_LIMITED_POLLS_BEFORE_ISSUE:
                self._create_issue(ISSUE_RATE_LIMITED)

    @override
    async def async_shutdown(self) -> None:
        """Stop polling; a rate-limit issue means nothing once the entry is unloaded."""
        await super().async_shutdown()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_RATE_LIMITED))

    @callback
    def async_publish(self, data: DataT) -> None:
        """Hand new data to the entities without moving the next poll.

        Unlike ``async_set_updated_data`` this keeps the polling schedule, so frequent
        updates (an execution being monitored) cannot postpone polls indefinitely.
        """
        self.data = data
        self.async_update_listeners()

    def _issue_id(self, issue: str) -> str:
        return issue_id(issue, self.config_entry.entry_id)

    def _create_issue(self, issue: str) -> None:
        self._issues_to_close.add(issue)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(issue),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=issue,
            translation_placeholders=self.translation_placeholders,
        )


def issue_id(issue: str, entry_id: str) -> str:
    """Return the id of one of an entry's repair issues."""
    return f"{issue}_{entry_id}"
