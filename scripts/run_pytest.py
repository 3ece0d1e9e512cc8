"""Run pytest with Home Assistant imported first, as it is when Home Assistant starts.

Home Assistant 2026.11 aliases httpx to httpx2 in its package ``__init__``, which must
run before anything imports httpx, and the test plugins import httpx. The newest test
plugin (pytest-homeassistant-custom-component 0.13.375, built for 2026.10) also imports
``_clear_logger_overwrites`` from where 2026.11 no longer re-exports it: on such a
release the name is put back before the plugin loads. Both only matter for the CI run
against the next Home Assistant release.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

import homeassistant  # noqa: F401 - must be imported before httpx


def _logger_lacks_plugin_import() -> bool:
    """Tell, without importing it, whether the logger component lost the name."""
    spec = importlib.util.find_spec("homeassistant.components.logger")
    assert spec is not None
    assert spec.origin is not None
    return "_clear_logger_overwrites" not in Path(spec.origin).read_text()


if _logger_lacks_plugin_import():
    from homeassistant.components import logger
    from homeassistant.components.logger.helpers import _clear_logger_overwrites

    logger._clear_logger_overwrites = _clear_logger_overwrites  # type: ignore[attr-defined]

import pytest  # noqa: E402

sys.exit(pytest.main(sys.argv[1:]))
