"""One ``Store`` per file and Home Assistant instance, for stores saved with a delay.

What is saved on every poll that found something (the history marker, the income) is
saved with a short delay, off the refresh: Home Assistant writes pending delayed saves
when it stops (``EVENT_HOMEASSISTANT_FINAL_WRITE``), so a stop or restart neither
repeats nor misses anything; only a crash or power loss within the delay loses the
last save. A pending save lives in its ``Store`` instance, so everything that touches
the file shares that instance: a reload of the entry loads the pending data, and the
removal of the entry cancels the pending save instead of letting it re-create the file.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

# Long enough to take the write off the refresh, short next to a crash's odds.
SAVE_DELAY_SECONDS: Final = 5.0

SHARED_STORES: HassKey[dict[str, Store[dict[str, Any]]]] = HassKey(
    f"{DOMAIN}_shared_stores"
)


def shared_store(hass: HomeAssistant, version: int, key: str) -> Store[dict[str, Any]]:
    """Return the instance's one store of ``key``, created on first use."""
    stores = hass.data.setdefault(SHARED_STORES, {})
    if (store := stores.get(key)) is None:
        store = stores[key] = Store(hass, version, key)
    return store


async def async_remove_shared_store(
    hass: HomeAssistant, version: int, key: str
) -> None:
    """Delete the file of ``key`` and cancel a save still pending for it."""
    await shared_store(hass, version, key).async_remove()
    hass.data[SHARED_STORES].pop(key, None)
