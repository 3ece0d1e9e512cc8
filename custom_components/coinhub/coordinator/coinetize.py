"""The Coinetize coordinator: the websites an account linked through CoinHub."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.storage import Store

from ..api.coinetize import CoinetizeClient, LinkMethod, TimestampRefusedError
from ..api.exceptions import ProviderRefusedError
from ..clients import coinetize_client
from ..const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_WEBSITES,
    DOMAIN,
    EVENT_WEBSITE_VERIFIED,
    MANUFACTURERS,
    Provider,
)
from .base import CoinHubConfigEntry, CoinHubCoordinator

# Coinetize: one request per proxy or redirect website; links change rarely.
COINETIZE_INTERVAL: Final = timedelta(minutes=10)
WEBSITES_STORAGE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class WebsiteState:
    """A website linked through CoinHub, as the entry stores it and Coinetize sees it.

    ``enabled_paths`` is ``None`` when unknown: dns links have no paths, and Coinetize
    lists the paths of verified websites only.
    """

    subdomain: str
    website: str
    link_method: LinkMethod
    verified: bool
    enabled_paths: tuple[str, ...] | None

    @classmethod
    def stored(cls, subdomain: str, info: Mapping[str, Any]) -> WebsiteState:
        """Return the state the entry's data tells, before Coinetize is asked."""
        return cls(
            subdomain=subdomain,
            website=str(info.get("website") or subdomain),
            link_method=LinkMethod(info["link_method"]),
            verified=bool(info.get("verified")),
            enabled_paths=None,
        )


@dataclass(frozen=True, slots=True)
class CoinetizeData:
    """The websites the account linked through CoinHub, by subdomain."""

    websites: dict[str, WebsiteState]


class CoinetizeCoordinator(CoinHubCoordinator[CoinetizeData]):
    """Poll the websites of a Coinetize account and keep the list of them.

    Coinetize has no call that lists an account's websites, so the entry's data is the
    list: websites are remembered there when linked and forgotten when unlinked,
    without reloading the entry.
    """

    provider = Provider.COINETIZE
    client: CoinetizeClient

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up the client."""
        super().__init__(hass, entry)
        self.client = coinetize_client(hass, entry.data)
        self._websites_journal = websites_journal(hass, entry.entry_id)

    @classmethod
    @override
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Poll every few minutes: links change rarely."""
        return COINETIZE_INTERVAL

    def website_device_id(self, subdomain: str) -> str:
        """Return the device identifier of a website."""
        return f"{self.account_id}_{subdomain}"

    def website_device_info(self, website: WebsiteState) -> DeviceInfo:
        """Return the device of a website, under the account's device."""
        return DeviceInfo(
            identifiers={(DOMAIN, self.website_device_id(website.subdomain))},
            manufacturer=MANUFACTURERS[self.provider],
            name=website.website,
            entry_type=DeviceEntryType.SERVICE,
            via_device_id=dr.async_get_device_id_by_identifier(
                self.hass,
                (DOMAIN, self.account_id),
                config_entry_id=self.config_entry.entry_id,
            ),
        )

    @property
    def stored_websites(self) -> dict[str, dict[str, Any]]:
        """Return the websites the entry's data holds, by subdomain."""
        return dict(self.config_entry.data.get(CONF_WEBSITES, {}))

    @override
    async def _async_setup(self) -> None:
        """Recover websites the journal holds, remove devices of those no longer held."""
        await super()._async_setup()
        journal = await self._websites_journal.async_load()
        if journal is not None and journal != self.stored_websites:
            # The entry's own save is delayed; the journal was written before the
            # action answered, so it wins after a crash in between.
            self._store_websites(journal)
        registry = dr.async_get(self.hass)
        wanted = {self.account_id} | {
            self.website_device_id(subdomain) for subdomain in self.stored_websites
        }
        for device in dr.async_entries_for_config_entry(
            registry, self.config_entry.entry_id
        ):
            if not any(
                domain == DOMAIN and identifier in wanted
                for domain, identifier in device.identifiers
            ):
                registry.async_remove_device(device.id)

    @override
    async def _async_poll(self) -> CoinetizeData:
        data = CoinetizeData(
            websites={
                subdomain: await self._async_website_state(subdomain, info)
                for subdomain, info in self.stored_websites.items()
            }
        )
        if self.data is not None:
            for subdomain, website in data.websites.items():
                before = self.data.websites.get(subdomain)
                if website.verified and before is not None and not before.verified:
                    self._announce_verified(website)
        return data

    async def _async_website_state(
        self, subdomain: str, info: Mapping[str, Any]
    ) -> WebsiteState:
        """Ask Coinetize how a website stands.

        Proxy and redirect websites: Coinetize lists the paths of verified websites
        only, so a listing proves verification and a refusal means not verified. A dns
        website has no paths; its verified flag is the one the verify action stored.
        """
        state = WebsiteState.stored(subdomain, info)
        if state.link_method is LinkMethod.DNS:
            return state
        try:
            paths = await self.client.list_paths(subdomain)
        except TimestampRefusedError:
            raise  # says nothing about the website
        except ProviderRefusedError:
            return replace(state, verified=False)
        return replace(state, verified=True, enabled_paths=paths.enabled_paths)

    async def async_remember_website(
        self, subdomain: str, info: Mapping[str, Any]
    ) -> None:
        """Keep a newly linked website in the entry and show its device right away."""
        self._store_websites({**self.stored_websites, subdomain: dict(info)})
        await self._async_journal_websites()
        self.async_publish(
            CoinetizeData(
                websites={
                    **self.data.websites,
                    subdomain: WebsiteState.stored(subdomain, info),
                }
            )
        )

    async def async_mark_verified(self, subdomain: str) -> None:
        """Remember that Coinetize verified a website, then read its paths."""
        websites = self.stored_websites
        websites[subdomain] = {**websites[subdomain], "verified": True}
        self._store_websites(websites)
        await self._async_journal_websites()
        state = self.data.websites.get(subdomain) or WebsiteState.stored(
            subdomain, websites[subdomain]
        )
        if not state.verified:
            self._announce_verified(state)
        self.async_publish(
            CoinetizeData(
                websites={
                    **self.data.websites,
                    subdomain: replace(state, verified=True),
                }
            )
        )
        if state.link_method is not LinkMethod.DNS:
            await self.async_request_refresh()

    async def async_forget_website(self, subdomain: str) -> None:
        """Forget an unlinked website and remove its device."""
        websites = self.stored_websites
        websites.pop(subdomain, None)
        self._store_websites(websites)
        await self._async_journal_websites()
        self.async_publish(
            CoinetizeData(
                websites={
                    name: state
                    for name, state in self.data.websites.items()
                    if name != subdomain
                }
            )
        )
        registry = dr.async_get(self.hass)
        if device := registry.async_get_device_by_identifier(
            (DOMAIN, self.website_device_id(subdomain)), self.config_entry.entry_id
        ):
            registry.async_remove_device(device.id)

    def _announce_verified(self, website: WebsiteState) -> None:
        """Tell automations a website became verified: the ``verified`` trigger.

        Fired only where the coordinator learns it (the verify action, or a poll
        that finds a website verified that was not before), so never twice.
        """
        self.hass.bus.async_fire(
            EVENT_WEBSITE_VERIFIED,
            {
                ATTR_CONFIG_ENTRY_ID: self.config_entry.entry_id,
                "subdomain": website.subdomain,
                "website": website.website,
            },
        )

    def _store_websites(self, websites: Mapping[str, Any]) -> None:
        # No update listener reloads the entry on data changes: this only saves.
        self.hass.config_entries.async_update_entry(
            self.config_entry,
            data={**self.config_entry.data, CONF_WEBSITES: dict(websites)},
        )

    async def _async_journal_websites(self) -> None:
        """Write the websites to disk now, not after the entry's delayed save.

        Coinetize hands out a subdomain once: it must survive a crash right after the
        action answered.
        """
        await self._websites_journal.async_save(self.stored_websites)


def websites_journal(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store that keeps a Coinetize entry's websites safe across a crash."""
    return Store(hass, WEBSITES_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.websites")
