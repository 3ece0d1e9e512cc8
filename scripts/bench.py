"""Measure the provider clients against the sandbox on loopback and print the numbers.

Run with ``.venv/bin/python scripts/bench.py``. Nothing here asserts a speed: the
numbers are printed so a change can be compared with the one before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
import json
import math
from pathlib import Path
import random
import statistics
import sys
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.coinhub.api.coinetize import CoinetizeClient, sign
from custom_components.coinhub.api.coinsoftworks import CoinsoftworksClient, TokenCache
from custom_components.coinhub.api.jsecoin import History, JSEcoinClient, RequestBudget
from sandbox import SandboxContext, create_app

SEEDS = Path(__file__).resolve().parent.parent / "sandbox" / "seeds"
UNLIMITED = {"requests": 1_000_000, "window": 60}


def _seed() -> dict[str, Any]:
    """The default seeds with rate limits lifted, so the benchmark measures the code."""
    seed = {
        name: json.loads((SEEDS / f"{name}.json").read_text())
        for name in ("jsecoin", "coinetize", "coinsoftworks")
    }
    for section in seed.values():
        section["rate_limit"] = dict(UNLIMITED)
    return seed


def _report(name: str, samples: list[float]) -> None:
    samples_ms = sorted(s * 1000 for s in samples)
    p95 = samples_ms[math.ceil(len(samples_ms) * 0.95) - 1]  # nearest rank
    print(
        f"{name:<46} n={len(samples_ms):>5}  mean={statistics.fmean(samples_ms):7.3f} ms"
        f"  p50={statistics.median(samples_ms):7.3f} ms  p95={p95:7.3f} ms"
    )


async def _timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def _synthetic_history(entries: int) -> dict[str, Any]:
    rng = random.Random(7)
    history = {}
    for number in range(entries):
        history[f"-Kw{number:08d}"] = {
            "command": rng.choice(["mining", "transfer", "import", "export"]),
            "ts": 1_700_000_000_000 + number * 1000,
            "user1": 123,
            "value": round(rng.uniform(-5, 5), 8) or 0.001,
            "reference": "bench",
            "user1email": "alice@example.com",
            "user2email": "bob@example.com",
        }
    return {"success": 1, "history": history}


async def main() -> None:
    """Start the sandbox, run every measurement, print one line each."""
    seed = _seed()
    context = SandboxContext(seed=seed, rng=random.Random(1))
    server = TestServer(create_app(context), host="127.0.0.1")
    await server.start_server(access_log=None)
    base = server.make_url("/")
    alice = seed["jsecoin"]["accounts"][0]
    bob = seed["jsecoin"]["accounts"][1]
    webmaster = seed["coinetize"]["users"][0]
    john = seed["coinsoftworks"]["accounts"][0]
    block_seconds = float(seed["jsecoin"]["block_seconds"])
    print(
        f"CoinHub benchmark on {sys.platform}, Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
    )
    try:
        async with aiohttp.ClientSession() as session:
            jse = JSEcoinClient(
                session,
                alice["api_key"],
                base_url=str(base.with_path("/jsecoin/server/api")),
                budget=RequestBudget(1_000_000, 60),
            )
            await jse.balance()  # warm the connection pool
            _report("jsecoin balance (sequential)", await _timed(jse.balance, 300))
            _report("jsecoin history (sequential)", await _timed(jse.history, 100))
            _report(
                "jsecoin current block id (sequential)",
                await _timed(jse.current_block_id, 300),
            )

            start = time.perf_counter()
            await asyncio.gather(*(jse.balance() for _ in range(500)))
            elapsed = time.perf_counter() - start
            print(
                f"{'jsecoin balance, 500 concurrent':<46} total={elapsed * 1000:8.1f} ms  {500 / elapsed:8.0f} req/s"
            )

            transfers = []
            for _ in range(30):
                context.clock.advance(
                    block_seconds
                )  # the previous write's lock has passed
                start = time.perf_counter()
                await jse.transfer(bob["email"], Decimal("0.001"), "bench")
                transfers.append(time.perf_counter() - start)
            _report("jsecoin transfer (one per block)", transfers)

            raw = json.dumps(_synthetic_history(10_000))
            parse = []
            for _ in range(5):
                start = time.perf_counter()
                # As the client reads it: amounts as Decimal, then the models.
                History.from_api(json.loads(raw, parse_float=Decimal))
                parse.append(time.perf_counter() - start)
            _report("jsecoin decode+parse history, 10,000 entries", parse)

            coinetize = CoinetizeClient(
                session,
                webmaster["username"],
                webmaster["auth_token"],
                base_url=str(base.with_path("/coinetize")),
            )
            _report(
                "coinetize signed list_paths (sequential)",
                await _timed(lambda: coinetize.list_paths("site-0b5e11"), 200),
            )
            start = time.perf_counter()
            for number in range(100_000):
                sign(
                    webmaster["auth_token"],
                    webmaster["username"],
                    "/list_paths",
                    number,
                )
            print(
                f"{'coinetize HMAC signatures':<46} {100_000 / (time.perf_counter() - start):12.0f} per second"
            )

            cache = TokenCache()
            coinsoftworks = CoinsoftworksClient(
                session,
                john["api_key"],
                john["access_token"],
                base_url=str(base.with_path("/coinsoftworks/_functions")),
                token_cache=cache,
            )
            _report(
                "coinsoftworks user, cached bearer (sequential)",
                await _timed(coinsoftworks.user, 300),
            )
            auth_routes = sum(
                count
                for (provider, _m, route), count in context.requests.items()
                if provider == "coinsoftworks" and "authentication" in route
            )
            print(
                f"{'coinsoftworks authentications for 300 calls':<46} {auth_routes:>12}"
            )
    finally:
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
