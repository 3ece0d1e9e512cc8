"""The coinsoftworks coordinator: the account, its actions and their executions."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..api.coinsoftworks import (
    Action,
    CoinsoftworksClient,
    Execution,
    Settings,
    User,
)
from ..api.exceptions import CoinHubError
from ..clients import coinsoftworks_client
from ..const import (
    ATTR_CONFIG_ENTRY_ID,
    DOMAIN,
    EVENT_ACTION_FINISHED,
    LOGGER,
    Provider,
)
from .base import CoinHubConfigEntry, CoinHubCoordinator

# coinsoftworks allows ~60 requests a minute; a poll costs three (user, settings,
# actions) and the account changes rarely.
COINSOFTWORKS_INTERVAL: Final = timedelta(minutes=5)
# Monitoring an execution: 1 s, 2 s, 4 s … between reads, at most 30 s, for an hour.
EXECUTION_MONITOR_FIRST_DELAY: Final = 1.0
EXECUTION_MONITOR_MAX_DELAY: Final = 30.0
EXECUTION_MONITOR_LIMIT: Final = 3600.0


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
        wait: float | None = None,
    ) -> Execution:
        """Execute ``action`` once and follow the execution until it finishes.

        The request is never retried: client errors reach the caller, who knows the
        action did not start (or, for a lost answer, that it may have). With ``wait``
        this returns when the execution finishes or after ``wait`` seconds with the
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
        if wait is not None:
            await asyncio.wait({monitor}, timeout=wait)
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
