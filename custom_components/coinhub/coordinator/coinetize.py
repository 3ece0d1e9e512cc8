"""The Coinetize coordinator: the websites an account linked through CoinHub or follows.

Coinetize has no call that lists an account's websites. Two lists make up the
account's websites: those linked through ``coinhub.link_website`` (kept in the entry's
data, with what Coinetize handed out once) and those linked elsewhere that the user
follows through the options (subdomains only). A website may be on both lists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
import re
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.storage import Store

from ..api.coinetize import CoinetizeClient, LinkMethod, Review, TimestampRefusedError
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

# In the .htaccess code of a review: the website's host, and a redirect rule ([R…]);
# a proxied website's rule has the [P] flag instead.
_HTACCESS_HOST: Final = re.compile(r"%\{HTTP_HOST\}\s+\^?(\S+?)\$?\s")
_HTACCESS_REDIRECT: Final = re.compile(r"\[[^\]]*\bR\b[^\]]*\]")
_ESCAPED: Final = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class WebsiteState:
    """A website linked through CoinHub, as the entry stores it and Coinetize sees it.

    ``enabled_paths`` is ``None`` when unknown: dns links have no paths, and Coinetize
    lists the paths of verified websites only. ``verified`` is ``None`` when unknown: a
    followed dns website whose verification CoinHub has not seen.
    """

    subdomain: str
    website: str
    link_method: LinkMethod
    verified: bool | None
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

    @classmethod
    def reviewed(cls, subdomain: str, review: Review) -> WebsiteState:
        """Return what a review tells of a website linked outside CoinHub.

        A review has the dns A record of a dns link; otherwise its .htaccess code shows
        the website's host and whether Coinetize redirects ([R]) or proxies ([P]).
        Whether it is verified is not in a review.
        """
        code = review.htaccess_code or ""
        if review.a_record is not None:
            method, website = LinkMethod.DNS, review.a_record.website
        else:
            method = (
                LinkMethod.REDIRECT
                if _HTACCESS_REDIRECT.search(code)
                else LinkMethod.PROXY
            )
            host = _HTACCESS_HOST.search(code)
            website = _ESCAPED.sub(r"\1", host.group(1)) if host else subdomain
        return cls(
            subdomain=subdomain,
            website=website,
            link_method=method,
            verified=None,
            enabled_paths=None,
        )


@dataclass(frozen=True, slots=True)
class CoinetizeData:
    """The websites the account linked through CoinHub or follows, by subdomain."""

    websites: dict[str, WebsiteState]


@dataclass(slots=True)
class FollowedWebsites:
    """What the coordinator learned of the followed websites while it runs.

    Reviews are read once per website (the options flow hands over the ones it read),
    so a poll costs what a linked website costs: one path listing.
    """

    subdomains: tuple[str, ...] = ()
    reviews: dict[str, Review] = field(default_factory=dict)
    # dns websites seen verified by coinhub.verify_website: Coinetize cannot be asked.
    verified: set[str] = field(default_factory=set)


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
        self._followed = FollowedWebsites(subdomains=followed_websites(entry))

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

    def knows_website(self, subdomain: str) -> bool:
        """Tell whether a website is linked through CoinHub or followed."""
        return (
            subdomain in self.stored_websites or subdomain in self._followed.subdomains
        )

    @override
    async def _async_setup(self) -> None:
        """Recover websites the journal holds, remove devices of those no longer held.

        From then on a change of the followed websites in the options takes effect
        without a reload.
        """
        await super()._async_setup()
        journal = await self._websites_journal.async_load()
        if journal is not None and journal != self.stored_websites:
            # The entry's own save is delayed; the journal was written before the
            # action answered, so it wins after a crash in between.
            self._store_websites(journal)
        registry = dr.async_get(self.hass)
        wanted = {self.account_id} | {
            self.website_device_id(subdomain)
            for subdomain in (*self.stored_websites, *self._followed.subdomains)
        }
        for device in dr.async_entries_for_config_entry(
            registry, self.config_entry.entry_id
        ):
            if not any(
                domain == DOMAIN and identifier in wanted
                for domain, identifier in device.identifiers
            ):
                registry.async_remove_device(device.id)
        self.config_entry.async_on_unload(
            self.config_entry.add_update_listener(self._async_entry_updated)
        )

    async def _async_entry_updated(
        self, hass: HomeAssistant, entry: ConfigEntry
    ) -> None:
        """Follow the websites the options list, without reloading the entry."""
        await self.async_follow_websites(followed_websites(entry))

    @override
    async def _async_poll(self) -> CoinetizeData:
        linked = self.stored_websites
        followed = [s for s in self._followed.subdomains if s not in linked]
        reads: list[Awaitable[WebsiteState | None]] = [
            *(self._async_website_state(s, info) for s, info in linked.items()),
            *(self._async_followed_state(s) for s in followed),
        ]
        # Websites are asked at once, so their round trips overlap; a lone one has
        # nothing to overlap with and is awaited as is (measured: no slower either way).
        if len(reads) > 1:
            states = await asyncio.gather(*reads)
        else:
            states = [await read for read in reads]
        websites = {
            subdomain: state
            for subdomain, state in zip((*linked, *followed), states, strict=True)
            if state is not None
        }
        if self.data is not None:
            for subdomain, website in websites.items():
                before = self.data.websites.get(subdomain)
                if website.verified and before is not None and not before.verified:
                    self._announce_verified(website)
        return CoinetizeData(websites=websites)

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

    async def _async_followed_state(self, subdomain: str) -> WebsiteState | None:
        """Ask Coinetize how a followed website stands; ``None`` if it does not know it.

        Its review (read once) tells the link method; then it is polled like a linked
        website. A website Coinetize stopped knowing (unlinked elsewhere) reads as not
        verified, or is left out if it was never reviewed.
        """
        if (review := self._followed.reviews.get(subdomain)) is None:
            try:
                review = await self.client.review(subdomain)
            except TimestampRefusedError:
                raise
            except ProviderRefusedError:
                previous = self.data.websites.get(subdomain) if self.data else None
                return None if previous is None else replace(previous, verified=False)
            self._followed.reviews[subdomain] = review
        state = WebsiteState.reviewed(subdomain, review)
        if state.link_method is LinkMethod.DNS:
            verified = subdomain in self._followed.verified or None
            return replace(state, verified=verified)
        return await self._async_website_state(
            subdomain,
            {"website": state.website, "link_method": state.link_method.value},
        )

    @callback
    def async_remember_reviews(self, reviews: Mapping[str, Review]) -> None:
        """Keep the reviews the options flow read, so a poll need not read them again."""
        self._followed.reviews.update(reviews)

    async def async_follow_websites(self, subdomains: tuple[str, ...]) -> None:
        """Follow the websites the options list now: add new ones, drop removed ones.

        A dropped website linked through CoinHub stays: it was not added by the option.
        """
        previous = set(self._followed.subdomains)
        self._followed.subdomains = subdomains
        dropped = previous - set(subdomains) - set(self.stored_websites)
        for subdomain in dropped:
            self._followed.reviews.pop(subdomain, None)
            self._followed.verified.discard(subdomain)
            self._async_drop_website(subdomain)
        if set(subdomains) - previous:
            await self.async_refresh()

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
        if subdomain in websites:
            websites[subdomain] = {**websites[subdomain], "verified": True}
            self._store_websites(websites)
            await self._async_journal_websites()
        else:
            self._followed.verified.add(subdomain)
        state = self.data.websites.get(subdomain)
        if state is None and subdomain in websites:
            state = WebsiteState.stored(subdomain, websites[subdomain])
        if state is not None:
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
        if state is None or state.link_method is not LinkMethod.DNS:
            await self.async_request_refresh()

    async def async_forget_website(self, subdomain: str) -> None:
        """Forget an unlinked website and remove its device.

        A followed website is taken off the options too: it is no longer the account's.
        """
        websites = self.stored_websites
        websites.pop(subdomain, None)
        self._store_websites(websites)
        await self._async_journal_websites()
        if subdomain in self._followed.subdomains:
            self._followed.subdomains = tuple(
                name for name in self._followed.subdomains if name != subdomain
            )
            self.hass.config_entries.async_update_entry(
                self.config_entry,
                options={
                    **self.config_entry.options,
                    CONF_WEBSITES: list(self._followed.subdomains),
                },
            )
        self._async_drop_website(subdomain)

    @callback
    def _async_drop_website(self, subdomain: str) -> None:
        """Stop showing a website and remove its device."""
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
        # The update listener follows option changes only: this just saves.
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


def followed_websites(entry: ConfigEntry) -> tuple[str, ...]:
    """Return the subdomains of websites linked elsewhere that the entry follows."""
    return tuple(entry.options.get(CONF_WEBSITES, ()))


def websites_journal(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store that keeps a Coinetize entry's websites safe across a crash."""
    return Store(hass, WEBSITES_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.websites")
