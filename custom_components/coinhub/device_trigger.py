"""Device triggers of CoinHub: alerts built in the automation editor, without YAML.

Each trigger listens to the CoinHub event that is fired once, where the coordinator
learns what happened, and keeps the events of its own device:

* JSEcoin account: ``transfer_in``, ``transfer_out``, ``import``, ``export`` from
  ``coinhub_transaction``, and ``income`` from ``coinhub_income``;
* coinsoftworks account: ``action_completed``, ``action_failed`` from
  ``coinhub_action_finished``;
* Coinetize website: ``verified`` from ``coinhub_website_verified``.

The event is handed to the automation as ``trigger.event`` (its data: the amount,
reference, status or subdomain), as an event trigger would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import probatio as vol

from .api.coinsoftworks import ExecutionStatus
from .api.jsecoin.models import COMMAND_EXPORT, COMMAND_IMPORT, COMMAND_TRANSFER
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_PROVIDER,
    DOMAIN,
    EVENT_ACTION_FINISHED,
    EVENT_INCOME,
    EVENT_TRANSACTION,
    EVENT_WEBSITE_VERIFIED,
    Provider,
)


@dataclass(frozen=True, slots=True)
class DeviceTarget:
    """What a CoinHub device is: an account, or one website of a Coinetize account."""

    entry: ConfigEntry
    provider: Provider
    subdomain: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """The event a trigger type listens to, and which of its events are the device's."""

    event_type: str
    matches: Callable[[Mapping[str, Any], DeviceTarget], bool]


def _transaction(kind: str) -> TriggerSpec:
    def matches(data: Mapping[str, Any], target: DeviceTarget) -> bool:
        command = data.get("command")
        if command == COMMAND_TRANSFER:
            incoming = float(data.get("value", 0)) >= 0
            return kind == ("transfer_in" if incoming else "transfer_out")
        return command == kind

    return TriggerSpec(EVENT_TRANSACTION, matches)


def _execution(status: ExecutionStatus) -> TriggerSpec:
    return TriggerSpec(
        EVENT_ACTION_FINISHED,
        lambda data, target: data.get("status") == status.value,
    )


TRIGGERS: Final[dict[str, TriggerSpec]] = {
    "transfer_in": _transaction("transfer_in"),
    "transfer_out": _transaction("transfer_out"),
    "import": _transaction(COMMAND_IMPORT),
    "export": _transaction(COMMAND_EXPORT),
    "income": TriggerSpec(EVENT_INCOME, lambda data, target: True),
    "action_completed": _execution(ExecutionStatus.COMPLETED),
    "action_failed": _execution(ExecutionStatus.FAILED),
    "verified": TriggerSpec(
        EVENT_WEBSITE_VERIFIED,
        lambda data, target: data.get("subdomain") == target.subdomain,
    ),
}

ACCOUNT_TRIGGERS: Final[dict[Provider, tuple[str, ...]]] = {
    Provider.JSECOIN: ("transfer_in", "transfer_out", "import", "export", "income"),
    Provider.COINSOFTWORKS: ("action_completed", "action_failed"),
    Provider.COINETIZE: (),
}
WEBSITE_TRIGGERS: Final = ("verified",)

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {vol.Required(CONF_TYPE): vol.In(list(TRIGGERS))}
)


def device_target(hass: HomeAssistant, device_id: str) -> DeviceTarget | None:
    """Return what a device is to CoinHub, or ``None`` if it is not CoinHub's."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    identifiers = {ident for domain, ident in device.identifiers if domain == DOMAIN}
    for entry_id in device.config_entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        provider = Provider(entry.data[CONF_PROVIDER])
        account_id = entry.unique_id or entry.entry_id
        if account_id in identifiers:
            return DeviceTarget(entry, provider)
        prefix = f"{account_id}_"
        for identifier in identifiers:
            if identifier.startswith(prefix) and provider is Provider.COINETIZE:
                return DeviceTarget(entry, provider, identifier.removeprefix(prefix))
    return None


def trigger_types(target: DeviceTarget) -> tuple[str, ...]:
    """Return the trigger types of a CoinHub device."""
    if target.subdomain is not None:
        return WEBSITE_TRIGGERS
    return ACCOUNT_TRIGGERS[target.provider]


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, str]]:
    """List the triggers of a CoinHub device."""
    if (target := device_target(hass, device_id)) is None:
        return []
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in trigger_types(target)
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Run ``action`` on each event of the trigger's type for its device."""
    device_id: str = config[CONF_DEVICE_ID]
    trigger_type: str = config[CONF_TYPE]
    target = device_target(hass, device_id)
    if target is None or trigger_type not in trigger_types(target):
        raise InvalidDeviceAutomationConfig(
            f"Device {device_id} has no CoinHub trigger {trigger_type}"
        )
    spec = TRIGGERS[trigger_type]
    entry_id = target.entry.entry_id
    trigger_data = trigger_info["trigger_data"]
    job = HassJob(action, f"{DOMAIN} device trigger {trigger_info}")

    @callback
    def is_the_device(data: Mapping[str, Any]) -> bool:
        return data.get(ATTR_CONFIG_ENTRY_ID) == entry_id and spec.matches(data, target)

    @callback
    def run(event: Event) -> None:
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    CONF_PLATFORM: "device",
                    CONF_DOMAIN: DOMAIN,
                    CONF_DEVICE_ID: device_id,
                    CONF_TYPE: trigger_type,
                    "event": event,
                    "description": f"{DOMAIN} {trigger_type}",
                }
            },
            event.context,
        )

    return hass.bus.async_listen(spec.event_type, run, event_filter=is_the_device)
