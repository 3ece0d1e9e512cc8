"""Run the sandbox: ``python -m sandbox --host 127.0.0.1 --port 8765``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import random

from aiohttp import web

from .app import SandboxContext, create_app


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
    args = parser.parse_args(argv)
    seed = json.loads(args.seed_file.read_text()) if args.seed_file else {}
    context = SandboxContext(seed=seed, rng=random.Random(args.random_seed))
    web.run_app(create_app(context), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
