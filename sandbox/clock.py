"""A wall clock that the admin API can move forward, so tests need not sleep."""

from __future__ import annotations

import time


class Clock:
    """Real time plus an offset that only grows."""

    def __init__(self, start: float | None = None) -> None:
        """Start at ``start`` (unix seconds) when given, else at the real time."""
        self._offset = 0.0 if start is None else start - time.time()

    def now(self) -> float:
        """Return the current unix time in seconds."""
        return time.time() + self._offset

    def now_ms(self) -> int:
        """Return the current unix time in milliseconds."""
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
