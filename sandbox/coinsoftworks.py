"""Placeholder until the coinsoftworks sandbox lands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .app import SandboxContext


def create_apps(context: SandboxContext) -> tuple[web.Application, web.Application]:
    """Return the API app and the admin app."""
    return web.Application(), web.Application()
