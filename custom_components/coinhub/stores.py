"""The file of what a JSEcoin entry's polls change, saved with a delay, off the poll.

How far the history was announced and the income change on the same polls. They are
kept in sections of one file, so such a poll writes one file, not one per section,
and a crash keeps both sections as they were together or neither.

The file is saved with a short delay, off the refresh: Home Assistant writes pending
delayed saves when it stops (``EVENT_HOMEASSISTANT_FINAL_WRITE``), so a stop or
restart neither repeats nor misses anything; only a crash or power loss within the
delay loses the last save. A pending save lives in the file's ``Store``, so the file
has one instance per entry and Home Assistant instance: a reload of the entry loads
the pending sections, and the removal of the entry cancels the pending save instead
of letting it re-create the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

# Long enough to take the write off the refresh, short next to a crash's odds.
SAVE_DELAY_SECONDS: Final = 5.0
ACCOUNT_FILE_VERSION: Final = 1

HISTORY_SECTION: Final = "history"
INCOME_SECTION: Final = "income"
# Versions before the file kept each section in a file of its own, keyed
# ``coinhub.<entry id>.<section>`` (version 1).
_SECTIONS_IN_FILES_OF_THEIR_OWN: Final = (HISTORY_SECTION, INCOME_SECTION)

ACCOUNT_FILES: HassKey[dict[str, AccountFile]] = HassKey(f"{DOMAIN}_account_files")

type Section = dict[str, Any]


class AccountFile:
    """One entry's file of sections, each kept by its owner and written together.

    An owner loads its section once, then saves by handing over how to read it as it
    is then (:meth:`async_delay_save`); every save writes every section so read.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Name the entry's file; nothing is read until a section is loaded."""
        self._hass = hass
        self._entry_id = entry_id
        self._store: Store[dict[str, Section]] = Store(
            hass, ACCOUNT_FILE_VERSION, account_file_key(entry_id)
        )
        self._stored: dict[str, Section] | None = None
        self._readers: dict[str, Callable[[], Section]] = {}
        self._save_scheduled = False

    async def async_load(self, section: str) -> Section | None:
        """Return a section as last saved, ``None`` if it never was.

        A save still pending counts: a load of the entry before this one saved it.
        """
        if (read := self._readers.get(section)) is not None:
            return read()
        if self._stored is None:
            self._stored = await self._async_read()
        return self._stored.get(section)

    @callback
    def async_delay_save(self, section: str, read: Callable[[], Section]) -> None:
        """Save the file shortly, with ``section`` as ``read`` returns it then.

        Written the delay after the first change since the last write: the save
        reads every section as the file is written, so a later change joins it
        rather than moving it on (as scheduling it again would).
        """
        self._readers[section] = read
        if not self._save_scheduled:
            self._save_scheduled = True
            self._store.async_delay_save(self._sections, SAVE_DELAY_SECONDS)

    async def async_remove(self) -> None:
        """Delete the file (and any older one) and cancel a save still pending."""
        await self._store.async_remove()
        for store in self._stores_of_older_versions().values():
            await store.async_remove()
        self._hass.data[ACCOUNT_FILES].pop(self._entry_id, None)

    def _sections(self) -> dict[str, Section]:
        """Return every section as the file is written.

        As its owner has it, or as loaded if it was not saved since.
        """
        self._save_scheduled = False
        sections = dict(self._stored or {})
        for section, read in self._readers.items():
            sections[section] = read()
        return sections

    async def _async_read(self) -> dict[str, Section]:
        """Read the file, or move the files of an older version into it."""
        if (stored := await self._store.async_load()) is not None:
            return stored
        older = self._stores_of_older_versions()
        sections = {
            section: data
            for section, store in older.items()
            if (data := await store.async_load()) is not None
        }
        if sections:
            # Written before the old files go: a crash between the two leaves both,
            # and this file is the one read.
            await self._store.async_save(sections)
            for store in older.values():
                await store.async_remove()
        return sections

    def _stores_of_older_versions(self) -> dict[str, Store[Section]]:
        """Return the file each section had of its own, by section."""
        return {
            section: Store(self._hass, 1, f"{DOMAIN}.{self._entry_id}.{section}")
            for section in _SECTIONS_IN_FILES_OF_THEIR_OWN
        }


def account_file(hass: HomeAssistant, entry_id: str) -> AccountFile:
    """Return the instance's one file of the entry, created on first use."""
    files = hass.data.setdefault(ACCOUNT_FILES, {})
    if (file := files.get(entry_id)) is None:
        file = files[entry_id] = AccountFile(hass, entry_id)
    return file


def account_file_key(entry_id: str) -> str:
    """Return the storage key of an entry's file."""
    return f"{DOMAIN}.{entry_id}.account"
