"""Coordinators of the CoinHub accounts: one per provider, each polling at its own pace.

Every coordinator turns provider errors into translated Home Assistant errors in one
place (:meth:`CoinHubCoordinator._async_update_data`): refused credentials start
reauthentication, everything else makes the entities unavailable until a poll succeeds
again. Polling intervals follow each provider's rate limit; they are not options.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api.coinetize import CoinetizeClient, LinkMethod, TimestampRefusedError
from .api.coinsoftworks import (
    Action,
    CoinsoftworksClient,
    Execution,
    Settings,
    User,
)
from .api.exceptions import (
    AccessLevelError,
    AuthenticationError,
    CoinHubError,
    ProviderRefusedError,
    RateLimitedError,
)
from .api.jsecoin import (
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW,
    History,
    HistoryEntry,
    JSEcoinClient,
)
from .clients import coinetize_client, coinsoftworks_client, jsecoin_client
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_LOOKUPS,
    CONF_WEBSITES,
    DOMAIN,
    EVENT_ACTION_FINISHED,
    EVENT_TRANSACTION,
    LOGGER,
    MANUFACTURERS,
    Provider,
)

type CoinHubConfigEntry = ConfigEntry[CoinHubCoordinator[Any]]

# Repair issues (translation keys of the "issues" section).
ISSUE_NO_READ_ACCESS: Final = "no_read_access"
ISSUE_RATE_LIMITED: Final = "rate_limited"
# A single refusal is noise (the key's budget is shared with transfers and other
# tools); this many polls refused in a row is worth telling the user about.
RATE_LIMITED_POLLS_BEFORE_ISSUE: Final = 3

# JSEcoin allows RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW seconds per key, and that
# budget is shared with transfers, exports and whatever else uses the key. Polling keeps
# to a third of it, and never polls more often than once a minute.
JSECOIN_POLLING_SHARE: Final = 1 / 3
JSECOIN_MIN_INTERVAL: Final = timedelta(seconds=60)
# An unchanged account costs one request per poll: the main balance. The history is
# read only when that balance moved (every transaction moves it), plus a slow safety
# read that catches what netted out between two polls. The block id changes every
# ~30 s whatever the account does, so it is read on a slower cadence of its own rather
# than costing a request on every poll.
JSECOIN_HISTORY_SAFETY_INTERVAL: Final = timedelta(minutes=30)
JSECOIN_BLOCK_INTERVAL: Final = timedelta(minutes=5)
# History entries are recognised by id within this window before the newest one seen,
# so an entry the provider writes a little out of timestamp order is still caught.
HISTORY_REORDER_WINDOW: Final = timedelta(hours=1)
HISTORY_STORAGE_VERSION: Final = 1
WEBSITES_STORAGE_VERSION: Final = 1

# coinsoftworks allows ~60 requests a minute; a poll costs three (user, settings,
# actions) and the account changes rarely.
COINSOFTWORKS_INTERVAL: Final = timedelta(minutes=5)
# Monitoring an execution: 1 s, 2 s, 4 s … between reads, at most 30 s, for an hour.
EXECUTION_MONITOR_FIRST_DELAY: Final = 1.0
EXECUTION_MONITOR_MAX_DELAY: Final = 30.0
EXECUTION_MONITOR_LIMIT: Final = 3600.0

# Coinetize: one request per proxy or redirect website; links change rarely.
COINETIZE_INTERVAL: Final = timedelta(minutes=10)


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
        )
        self.account_id: str = entry.unique_id or entry.entry_id
        self.account_device_info = DeviceInfo(
            identifiers={(DOMAIN, self.account_id)},
            manufacturer=MANUFACTURERS[self.provider],
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )
        self._rate_limited_polls = 0

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
        """Poll the account, turning client errors into Home Assistant errors."""
        try:
            data = await self._async_poll()
        except AccessLevelError:
            self._create_issue(ISSUE_NO_READ_ACCESS)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="no_read_access",
                translation_placeholders=self.translation_placeholders,
            ) from None
        except AuthenticationError:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="auth_failed",
                translation_placeholders=self.translation_placeholders,
            ) from None
        except RateLimitedError as err:
            self._rate_limited_polls += 1
            if self._rate_limited_polls >= RATE_LIMITED_POLLS_BEFORE_ISSUE:
                self._create_issue(ISSUE_RATE_LIMITED)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders=self.translation_placeholders,
                retry_after=err.retry_after,
            ) from None
        except CoinHubError as err:
            # Client messages carry no secret, but a provider notification may carry
            # personal data: only the error's type goes to the log.
            LOGGER.debug("Polling %s failed: %s", self.name, type(err).__name__)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders=self.translation_placeholders,
            ) from None
        self._rate_limited_polls = 0
        for issue in (ISSUE_NO_READ_ACCESS, ISSUE_RATE_LIMITED):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(issue))
        return data

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
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(issue),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=issue,
            translation_placeholders=self.translation_placeholders,
        )


# JSEcoin


@dataclass(frozen=True, slots=True)
class JSEcoinData:
    """What a JSEcoin account shows: balances, the chain's block and its last move."""

    balance: Decimal
    lookups: dict[str, Decimal]
    block_id: int | None
    last_transaction: HistoryEntry | None


@dataclass(frozen=True, slots=True)
class HistoryMarker:
    """How far the account's history has been announced, persisted across restarts.

    ``newest`` is the newest timestamp seen; ``recent_ids`` are the ids of every entry
    within :data:`HISTORY_REORDER_WINDOW` before it. An entry is new when it is newer
    than ``newest``, or inside the window and not among ``recent_ids``.
    """

    newest: datetime | None
    recent_ids: frozenset[str]

    @classmethod
    def of(cls, entries: Iterable[HistoryEntry]) -> HistoryMarker:
        """Return the marker of a history whose entries have all been announced."""
        entries = tuple(entries)
        if not entries:
            return cls(newest=None, recent_ids=frozenset())
        newest = max(entry.timestamp for entry in entries)
        since = newest - HISTORY_REORDER_WINDOW
        return cls(
            newest=newest,
            recent_ids=frozenset(e.id for e in entries if e.timestamp >= since),
        )

    def is_new(self, entry: HistoryEntry) -> bool:
        """Tell whether ``entry`` has not been announced yet."""
        if self.newest is None or entry.timestamp > self.newest:
            return True
        return (
            entry.timestamp >= self.newest - HISTORY_REORDER_WINDOW
            and entry.id not in self.recent_ids
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the marker as stored."""
        return {
            "newest": None if self.newest is None else self.newest.isoformat(),
            "recent_ids": sorted(self.recent_ids),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> HistoryMarker:
        """Read a stored marker."""
        newest = stored.get("newest")
        return cls(
            newest=None if newest is None else datetime.fromisoformat(newest),
            recent_ids=frozenset(stored.get("recent_ids", ())),
        )


def jsecoin_polling_interval(lookup_count: int) -> timedelta:
    """Return the interval at which a poll of the main balance and lookups fits the share."""
    seconds_per_request = RATE_LIMIT_WINDOW / (
        RATE_LIMIT_REQUESTS * JSECOIN_POLLING_SHARE
    )
    return max(
        JSECOIN_MIN_INTERVAL,
        timedelta(seconds=(1 + lookup_count) * seconds_per_request),
    )


def transaction_event_data(entry_id: str, entry: HistoryEntry) -> dict[str, Any]:
    """Return the ``coinhub_transaction`` data of a history entry.

    The counterparty's e-mail address and public key stay out: events are recorded.
    """
    return {
        ATTR_CONFIG_ENTRY_ID: entry_id,
        "id": entry.id,
        "command": entry.command,
        "value": float(entry.value),
        "reference": entry.reference,
        "timestamp": entry.timestamp.isoformat(),
    }


class JSEcoinCoordinator(CoinHubCoordinator[JSEcoinData]):
    """Poll a JSEcoin account and announce each new history entry exactly once."""

    provider = Provider.JSECOIN
    client: JSEcoinClient

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up the client, the lookups and the history store."""
        super().__init__(hass, entry)
        self.client = jsecoin_client(hass, entry.data)
        self.lookups: tuple[str, ...] = tuple(entry.options.get(CONF_LOOKUPS, ()))
        self._history_store = history_store(hass, entry.entry_id)
        self._history_marker: HistoryMarker | None = None
        self._history_lock = asyncio.Lock()
        self._history_read_at: datetime | None = None
        self._block_read_at: datetime | None = None
        self._transaction_listeners: list[Callable[[HistoryEntry], None]] = []

    @classmethod
    @override
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Poll as often as the main balance and each lookup fit the key's share."""
        return jsecoin_polling_interval(len(entry.options.get(CONF_LOOKUPS, ())))

    @override
    async def _async_setup(self) -> None:
        """Load how far the history has been announced."""
        await super()._async_setup()
        if stored := await self._history_store.async_load():
            self._history_marker = HistoryMarker.from_dict(stored)

    @override
    async def _async_poll(self) -> JSEcoinData:
        now = dt_util.utcnow()
        previous = self.data
        balance = (await self.client.balance()).balance
        lookups = {
            lookup: (await self.client.balance(lookup)).balance
            for lookup in self.lookups
        }
        last_transaction = None if previous is None else previous.last_transaction
        if (
            previous is None
            or balance != previous.balance
            or _due(self._history_read_at, now, JSECOIN_HISTORY_SAFETY_INTERVAL)
        ):
            history = await self.client.history()
            self._history_read_at = now
            await self._async_announce(history)
            last_transaction = history.entries[-1] if history.entries else None
        block_id = None if previous is None else previous.block_id
        if _due(self._block_read_at, now, JSECOIN_BLOCK_INTERVAL):
            block_id = await self.client.current_block_id()
            self._block_read_at = now
        return JSEcoinData(
            balance=balance,
            lookups=lookups,
            block_id=block_id,
            last_transaction=last_transaction,
        )

    async def async_process_history(self, history: History) -> None:
        """Announce the entries of a freshly read history that are new.

        Called by the polls and by actions that read the history themselves (after a
        transfer, or to reconcile a lost answer), so nothing is announced twice.
        """
        await self._async_announce(history)
        if self.data is not None and history.entries:
            last = history.entries[-1]
            if last != self.data.last_transaction:
                self.async_publish(replace(self.data, last_transaction=last))

    @callback
    def async_add_transaction_listener(
        self, listener: Callable[[HistoryEntry], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` with every new history entry; return how to stop."""
        self._transaction_listeners.append(listener)
        return lambda: self._transaction_listeners.remove(listener)

    async def _async_announce(self, history: History) -> None:
        """Fire an event per new entry, in order, then persist how far we got.

        The first history ever read is the baseline: it is what the account already
        had, so it is recorded without an event flood.
        """
        async with self._history_lock:
            marker = self._history_marker
            if marker is not None:
                new_entries = [e for e in history.entries if marker.is_new(e)]
                if not new_entries:
                    return
                for entry in new_entries:
                    self.hass.bus.async_fire(
                        EVENT_TRANSACTION,
                        transaction_event_data(self.config_entry.entry_id, entry),
                    )
                    for listener in tuple(self._transaction_listeners):
                        listener(entry)
            self._history_marker = HistoryMarker.of(history.entries)
            # Saved right away: a restart must neither repeat nor miss an entry.
            await self._history_store.async_save(self._history_marker.as_dict())


def history_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of how far an entry's JSEcoin history has been announced."""
    return Store(hass, HISTORY_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.history")


def issue_id(issue: str, entry_id: str) -> str:
    """Return the id of one of an entry's repair issues."""
    return f"{issue}_{entry_id}"


def websites_journal(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store that keeps a Coinetize entry's websites safe across a crash."""
    return Store(hass, WEBSITES_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.websites")


async def async_remove_entry_data(hass: HomeAssistant, entry_id: str) -> None:
    """Forget what a removed entry left behind: stores on disk and repair issues."""
    await history_store(hass, entry_id).async_remove()
    await websites_journal(hass, entry_id).async_remove()
    for issue in (ISSUE_NO_READ_ACCESS, ISSUE_RATE_LIMITED):
        ir.async_delete_issue(hass, DOMAIN, issue_id(issue, entry_id))


def _due(last: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Tell whether something last done at ``last`` is due again."""
    return last is None or now - last >= interval


# Coinetize


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
        return CoinetizeData(
            websites={
                subdomain: await self._async_website_state(subdomain, info)
                for subdomain, info in self.stored_websites.items()
            }
        )

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


# coinsoftworks


@dataclass(frozen=True, slots=True)
class CoinsoftworksData:
    """A coinsoftworks account: who it is, its settings, actions and last execution."""

    user: User
    settings: Settings
    actions: tuple[Action, ...]
    last_execution: Execution | None


def action_finished_event_data(
    entry_id: str, action: Action, execution: Execution
) -> dict[str, Any]:
    """Return the ``coinhub_action_finished`` data of a finished execution."""
    return {
        ATTR_CONFIG_ENTRY_ID: entry_id,
        "action_id": execution.action_id or action.action_id,
        "execution_id": execution.execution_id,
        "status": execution.status.value,
        "result": execution.result,
        # Why a failed execution failed, when the provider says: what an alert needs.
        "message": execution.message,
    }


class CoinsoftworksCoordinator(CoinHubCoordinator[CoinsoftworksData]):
    """Poll a coinsoftworks account, execute its actions and follow the executions."""

    provider = Provider.COINSOFTWORKS
    client: CoinsoftworksClient

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up the client."""
        super().__init__(hass, entry)
        self.client = coinsoftworks_client(hass, entry.data)
        self._last_execution: Execution | None = None
        self._last_started: str | None = None  # the execution the entities show

    @classmethod
    @override
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Poll every few minutes: a poll costs three requests."""
        return COINSOFTWORKS_INTERVAL

    @override
    async def _async_poll(self) -> CoinsoftworksData:
        return CoinsoftworksData(
            user=await self.client.user(),
            settings=await self.client.settings(),
            actions=await self.client.actions(),
            last_execution=self._last_execution,
        )

    async def async_execute(
        self,
        action: Action,
        parameters: Mapping[str, Any] | None,
        *,
        wait: bool,
        timeout: float,  # noqa: ASYNC109 - the monitoring goes on after it
    ) -> Execution:
        """Execute ``action`` once and follow the execution until it finishes.

        The request is never retried: client errors reach the caller, who knows the
        action did not start (or, for a lost answer, that it may have). With ``wait``
        this returns when the execution finishes or after ``timeout`` seconds with the
        status known then; the monitoring goes on in the background either way and
        fires ``coinhub_action_finished`` once the execution ends.
        """
        execution = await self.client.execute_action(action.action_id, parameters)
        self._last_started = execution.execution_id
        self._set_last_execution(execution)
        if execution.finished:
            self._announce_finished(action, execution)
            return execution
        latest: dict[str, Execution] = {"execution": execution}
        monitor = self.config_entry.async_create_background_task(
            self.hass,
            self._async_monitor(action, execution, latest),
            name=f"{DOMAIN} execution {execution.execution_id}",
        )
        if wait:
            await asyncio.wait({monitor}, timeout=timeout)
        return latest["execution"]

    async def _async_monitor(
        self, action: Action, execution: Execution, latest: dict[str, Execution]
    ) -> None:
        """Read the execution with growing pauses until it finishes, then announce it."""
        delay, waited = EXECUTION_MONITOR_FIRST_DELAY, 0.0
        while waited < EXECUTION_MONITOR_LIMIT:
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, EXECUTION_MONITOR_MAX_DELAY)
            try:
                execution = await self.client.execution(execution.execution_id)
            except CoinHubError as err:
                LOGGER.debug(
                    "Reading execution %s failed: %s",
                    execution.execution_id,
                    type(err).__name__,
                )
                continue
            latest["execution"] = execution
            self._set_last_execution(execution)
            if execution.finished:
                self._announce_finished(action, execution)
                return
        LOGGER.warning(
            "Stopped following execution %s of %s: it did not finish within %s seconds",
            execution.execution_id,
            action.action_name,
            EXECUTION_MONITOR_LIMIT,
        )

    def _set_last_execution(self, execution: Execution) -> None:
        """Show ``execution`` unless a later one was started since."""
        if execution.execution_id != self._last_started:
            return
        self._last_execution = execution
        if self.data is not None:
            self.async_publish(replace(self.data, last_execution=execution))

    def _announce_finished(self, action: Action, execution: Execution) -> None:
        self.hass.bus.async_fire(
            EVENT_ACTION_FINISHED,
            action_finished_event_data(self.config_entry.entry_id, action, execution),
        )


COORDINATORS: Final[dict[Provider, type[CoinHubCoordinator[Any]]]] = {
    Provider.JSECOIN: JSEcoinCoordinator,
    Provider.COINETIZE: CoinetizeCoordinator,
    Provider.COINSOFTWORKS: CoinsoftworksCoordinator,
}
