"""The sandbox application: the three providers, the fault injector and the admin API."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from . import coinetize, coinsoftworks, jsecoin
from .context import CONTEXT, PROVIDER, SandboxContext
from .faults import FaultRule, Handler

# A provider module: builds its API app and its admin app from the shared context.
ProviderFactory = Callable[[SandboxContext], tuple[web.Application, web.Application]]


# Each provider under the prefix its real API lives at.
PROVIDERS: dict[str, tuple[str, ProviderFactory]] = {
    "jsecoin": ("/jsecoin/server/api", jsecoin.create_apps),
    "coinetize": ("/coinetize", coinetize.create_apps),
    "coinsoftworks": ("/coinsoftworks/_functions", coinsoftworks.create_apps),
}


def _provider_of(request: web.Request) -> str | None:
    for app in reversed(request.match_info.apps):
        if PROVIDER in app:
            return app[PROVIDER]
    return None


@web.middleware
async def _sandbox_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    context = request.app[CONTEXT]
    provider = _provider_of(request)
    if provider is None:  # the admin API is never faulty
        return await handler(request)
    route = request.match_info.route.resource
    template = route.canonical if route is not None else request.path
    context.requests[(provider, request.method, template)] += 1
    return await context.faults.handle(provider, request, handler)


def create_app(context: SandboxContext | None = None) -> web.Application:
    """Build the sandbox: providers under their prefixes, admin API under ``/_admin``."""
    context = context or SandboxContext(seed={})
    app = web.Application(middlewares=[_sandbox_middleware])
    app[CONTEXT] = context
    admin = _admin_app(context)
    for name, (prefix, factory) in PROVIDERS.items():
        api, provider_admin = factory(context)
        api[PROVIDER] = name
        app.add_subapp(prefix, api)
        admin.add_subapp(f"/{name}", provider_admin)
    app.add_subapp("/_admin", admin)
    return app


def _admin_app(context: SandboxContext) -> web.Application:
    admin = web.Application()
    routes = web.RouteTableDef()

    @routes.get("/faults")
    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response(context.faults.as_list())

    @routes.post("/faults")
    async def add_fault(request: web.Request) -> web.Response:
        try:
            rule = FaultRule.from_dict(await request.json())
        except (ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)
        context.faults.add(rule)
        return web.json_response(context.faults.as_list(), status=201)

    @routes.delete("/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        context.faults.clear()
        return web.json_response([])

    @routes.post("/clock/advance")
    async def advance_clock(request: web.Request) -> web.Response:
        try:
            seconds = float((await request.json())["seconds"])
            context.clock.advance(seconds)
        except (ValueError, KeyError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response({"now": context.clock.now()})

    @routes.get("/requests")
    async def list_requests(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"provider": provider, "method": method, "route": route, "count": count}
                for (provider, method, route), count in sorted(context.requests.items())
            ]
        )

    @routes.delete("/requests")
    async def clear_requests(request: web.Request) -> web.Response:
        context.requests.clear()
        return web.json_response([])

    admin.add_routes(routes)
    return admin
