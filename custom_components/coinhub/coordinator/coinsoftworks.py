"""The coinsoftworks coordinator: the account, its actions and their executions."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final, TypedDict, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..account_state import account_state
from ..api.coinsoftworks import (
    Action,
    CoinsoftworksClient,
    Execution,
    ExecutionStatus,
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
EXECUTIONS_STORAGE_VERSION: Final = 1


class RunningExecution(TypedDict):
    """An execution followed until it ends: the action it runs."""

    action_id: str
    action_name: str


@dataclass(frozen=True, slots=True)
class CoinsoftworksData:
    """A coinsoftworks account: who it is, its settings, actions and last execution."""

    user: User
    settings: Settings
    actions: tuple[Action, ...]
    last_execution: Execution | None


def action_finished_event_data(
    entry_id: str, action_id: str, execution: Execution
) -> dict[str, Any]:
    """Return the ``coinhub_action_finished`` data of a finished execution."""
    return {
        ATTR_CONFIG_ENTRY_ID: entry_id,
        "action_id": execution.action_id or action_id,
        "execution_id": execution.execution_id,
        "status": execution.status.value,
        "result": execution.result,
        # Why a failed execution failed, when the provider says: what an alert needs.
        "message": execution.message,
    }


def executions_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of an entry's running executions and its last execution."""
    return Store(hass, EXECUTIONS_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.executions")


class CoinsoftworksCoordinator(CoinHubCoordinator[CoinsoftworksData]):
    """Poll a coinsoftworks account, execute its actions and follow the executions.

    Executions still running are stored, and the account's running executions are
    shared by every load of the entry (:mod:`..account_state`): a monitor is a task
    of the entry, cancelled when it unloads, and the next load follows the execution
    on to its end and announces it once.
    """

    provider = Provider.COINSOFTWORKS
    client: CoinsoftworksClient

    def __init__(self, hass: HomeAssistant, entry: CoinHubConfigEntry) -> None:
        """Set up the client and the store of executions."""
        super().__init__(hass, entry)
        self.client = coinsoftworks_client(hass, entry.data)
        self._last_execution: Execution | None = None
        self._last_started: str | None = None  # the execution the entities show
        self._executions_store = executions_store(hass, entry.entry_id)
        self._account = account_state(hass, self.account_id)
        self._running = self._account.running_executions

    @classmethod
    @override
    def polling_interval(cls, entry: ConfigEntry) -> timedelta:
        """Poll every few minutes: a poll costs three requests."""
        return COINSOFTWORKS_INTERVAL

    @override
    async def _async_setup(self) -> None:
        """Restore the last execution, and follow the ones still running."""
        await super()._async_setup()
        stored = await self._executions_store.async_load() or {}
        if (last := _stored_execution(stored.get("last"))) is not None:
            self._last_execution = last
            self._last_started = last.execution_id
        if not self._account.executions_loaded:
            # The first load since Home Assistant started: what storage says runs.
            self._running.update(_stored_running(stored.get("running")))
            self._account.executions_loaded = True
        for execution_id, running in list(self._running.items()):
            self._follow(running, execution_id, {})

    @override
    async def _async_poll(self) -> CoinsoftworksData:
        # Asked at once, their round trips overlap. They fail alike (the key, the
        # connection), so the first failure is the poll's; the others end on their own.
        user, settings, actions = await asyncio.gather(
            self.client.user(), self.client.settings(), self.client.actions()
        )
        return CoinsoftworksData(
            user=user,
            settings=settings,
            actions=actions,
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
        running = RunningExecution(
            action_id=action.action_id, action_name=action.action_name
        )
        if execution.finished:
            self._announce_finished(running, execution)
            await self._async_save_executions()
            return execution
        self._running[execution.execution_id] = running
        await self._async_save_executions()
        latest: dict[str, Execution] = {"execution": execution}
        monitor = self._follow(running, execution.execution_id, latest)
        if wait is not None:
            await asyncio.wait({monitor}, timeout=wait)
        return latest["execution"]

    def _follow(
        self,
        running: RunningExecution,
        execution_id: str,
        latest: dict[str, Execution],
    ) -> asyncio.Task[None]:
        """Follow an execution in a task of the entry, cancelled when it unloads."""
        return self.config_entry.async_create_background_task(
            self.hass,
            self._async_monitor(running, execution_id, latest),
            name=f"{DOMAIN} execution {execution_id}",
        )

    async def _async_monitor(
        self,
        running: RunningExecution,
        execution_id: str,
        latest: dict[str, Execution],
    ) -> None:
        """Read the execution with growing pauses until it finishes, then announce it."""
        delay, waited = EXECUTION_MONITOR_FIRST_DELAY, 0.0
        while waited < EXECUTION_MONITOR_LIMIT:
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, EXECUTION_MONITOR_MAX_DELAY)
            try:
                execution = await self.client.execution(execution_id)
            except CoinHubError as err:
                LOGGER.debug(
                    "Reading execution %s failed: %s",
                    execution_id,
                    type(err).__name__,
                )
                continue
            latest["execution"] = execution
            self._set_last_execution(execution)
            if execution.finished:
                # Forgotten and announced in one step: a load after an unload that
                # cuts this task short neither follows nor announces it again.
                self._running.pop(execution_id, None)
                self._announce_finished(running, execution)
                await self._async_save_executions()
                return
        self._running.pop(execution_id, None)
        await self._async_save_executions()
        LOGGER.warning(
            "Stopped following execution %s of %s: it did not finish within %s seconds",
            execution_id,
            running["action_name"],
            EXECUTION_MONITOR_LIMIT,
        )

    async def _async_save_executions(self) -> None:
        """Store the running executions and the one the entities show."""
        last = self._last_execution
        await self._executions_store.async_save(
            {
                "running": dict(self._running),
                "last": None if last is None else _execution_as_dict(last),
            }
        )

    def _set_last_execution(self, execution: Execution) -> None:
        """Show ``execution`` unless a later one was started since."""
        if execution.execution_id != self._last_started:
            return
        self._last_execution = execution
        if self.data is not None:
            self.async_publish(replace(self.data, last_execution=execution))

    def _announce_finished(
        self, running: RunningExecution, execution: Execution
    ) -> None:
        self.hass.bus.async_fire(
            EVENT_ACTION_FINISHED,
            action_finished_event_data(
                self.config_entry.entry_id, running["action_id"], execution
            ),
        )


def _execution_as_dict(execution: Execution) -> dict[str, Any]:
    """Return an execution as stored."""
    return {
        "execution_id": execution.execution_id,
        "action_id": execution.action_id,
        "status": execution.status.value,
        "result": execution.result,
        "message": execution.message,
    }


def _stored_execution(stored: Any) -> Execution | None:
    """Read a stored execution; ``None`` when there is none or it is unreadable."""
    try:
        return Execution(
            execution_id=str(stored["execution_id"]),
            action_id=stored["action_id"],
            status=ExecutionStatus(stored["status"]),
            result=stored.get("result"),
            message=stored.get("message"),
        )
    except KeyError, TypeError, ValueError:
        return None


def _stored_running(stored: Any) -> dict[str, RunningExecution]:
    """Read the stored running executions, leaving out what cannot be read."""
    if not isinstance(stored, Mapping):
        return {}
    return {
        str(execution_id): RunningExecution(
            action_id=running["action_id"], action_name=running["action_name"]
        )
        for execution_id, running in stored.items()
        if isinstance(running, Mapping)
        and isinstance(running.get("action_id"), str)
        and isinstance(running.get("action_name"), str)
    }
