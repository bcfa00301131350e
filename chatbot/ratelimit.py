"""A sliding-window count of events (questions per minute for one visitor); UI-free.

Only accepted events are counted, so a visitor who is told to wait and asks again
after the wait is not punished for the refused attempts.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    limit: int
    seconds: float = 60.0
    _stamps: deque[float] = field(default_factory=deque, repr=False)

    def acquire(self, now: float | None = None) -> float:
        """0 and the event is counted, or the whole seconds to wait before the next one is allowed."""
        now = time.monotonic() if now is None else now
        while self._stamps and now - self._stamps[0] >= self.seconds:
            self._stamps.popleft()
        if len(self._stamps) >= self.limit:
            return float(max(1, math.ceil(self.seconds - (now - self._stamps[0]))))
        self._stamps.append(now)
        return 0.0

    def idle_since(self, now: float) -> float:
        """Seconds since the last counted event (infinite when none is counted)."""
        return now - self._stamps[-1] if self._stamps else math.inf


__all__ = ["SlidingWindow"]
