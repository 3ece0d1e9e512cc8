"""A local stand-in for the JSEcoin, Coinetize and coinsoftworks APIs.

It serves the three providers' documented endpoints on loopback with their real
behaviour (authentication, limits, clocks, side effects) and a fault-injection admin API,
so the integration, the demo, the end-to-end tests and the benchmark talk real HTTP.
"""

from .app import create_app
from .context import SandboxContext

__all__ = ["SandboxContext", "create_app"]
