"""The blueprints CoinHub ships, placed where Home Assistant lists them.

Each ``blueprints/<domain>/<name>.yaml`` of the integration is copied to the
configuration's ``blueprints/<domain>/coinhub/<name>.yaml`` when no file is there, so
it shows under Settings → Automations → Blueprints without a download. A file that is
there is never replaced: it may be the user's edited copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from homeassistant.core import HomeAssistant

from .const import DOMAIN, LOGGER

SHIPPED_BLUEPRINTS: Final = Path(__file__).parent / "blueprints"


async def async_install_blueprints(hass: HomeAssistant) -> None:
    """Copy the shipped blueprints that are missing; file work in the executor."""
    installed = await hass.async_add_executor_job(
        install_blueprints, SHIPPED_BLUEPRINTS, Path(hass.config.path("blueprints"))
    )
    if installed:
        LOGGER.info("Installed blueprints: %s", ", ".join(installed))


def install_blueprints(source: Path, target: Path) -> list[str]:
    """Copy each blueprint of ``source`` under ``target`` unless one is there.

    Returns the paths installed, relative to ``target``.
    """
    installed: list[str] = []
    for blueprint in sorted(source.glob("*/*.yaml")):
        destination = target / blueprint.parent.name / DOMAIN / blueprint.name
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Exclusive creation: an existing file, even one created a moment ago
            # by the user, is left alone.
            with destination.open("x", encoding="utf-8") as copy:
                copy.write(blueprint.read_text(encoding="utf-8"))
        except FileExistsError:
            continue
        except OSError as err:
            LOGGER.warning("Could not install the blueprint %s: %s", destination, err)
            continue
        installed.append(str(destination.relative_to(target)))
    return installed
