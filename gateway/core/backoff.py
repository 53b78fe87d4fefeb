"""Capped full-jitter exponential backoff (the AWS architecture blog's 'full jitter')."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next attempt after ``failures`` consecutive failures."""

    base: float = 1.0
    cap: float = 60.0
    failures: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        """Count a failure and return how long to wait: uniform in [0, min(cap, base*2^n)]."""
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 30))
        return self._random.uniform(0, ceiling)

    def reset(self) -> None:
        """Forget the failures after a success."""
        self.failures = 0
