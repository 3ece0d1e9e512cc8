"""Run the sandbox: ``python -m sandbox --host 127.0.0.1 --port 8765``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
import random

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from yarl import URL

from .app import create_app
from .context import SandboxContext
from .live import live_context


class RouteAccessLogger(AbstractAccessLogger):
    """Log each request by its route template: paths and query strings carry credentials."""

    def log(
        self, request: web.BaseRequest, response: web.StreamResponse, time: float
    ) -> None:
        """Write one line per request."""
        resource = (
            request.match_info.route.resource
            if isinstance(request, web.Request)
            else None
        )
        route = resource.canonical if resource is not None else "(unrouted)"
        self.logger.info(
            "%s %s -> %s in %.1f ms",
            request.method,
            route,
            response.status,
            time * 1000,
        )


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--seed-file",
        type=Path,
        help="JSON with a section per provider to replace the defaults",
    )
    parser.add_argument(
        "--random-seed", type=int, default=0, help="seed of every random choice"
    )
    parser.add_argument(
        "--live",
        type=float,
        metavar="SECONDS",
        help="move on its own every SECONDS: mining rewards, payments (for the demo)",
    )
    args = parser.parse_args(argv)
    seed = json.loads(args.seed_file.read_text()) if args.seed_file else {}
    context = SandboxContext(seed=seed, rng=random.Random(args.random_seed))
    app = create_app(context)
    if args.live:
        # What live mode does is worth seeing in the demo's terminal; requests are not.
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("sandbox").setLevel(logging.INFO)
        own_url = URL.build(scheme="http", host=args.host, port=args.port)
        app.cleanup_ctx.append(
            live_context(own_url, args.live, random.Random(args.random_seed))
        )
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log_class=RouteAccessLogger,
    )


if __name__ == "__main__":
    main()
