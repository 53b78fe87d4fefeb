"""The limits a running script cannot catch: a step budget and a CPU budget per call.

The compiler puts ``_tick_()`` at the top of every loop body, function body, lambda and
comprehension (see :mod:`.policy`); each tick spends one step. Pure-Python runaway loops end
there, deterministically and without signals. Long C calls (``10**10**8``) make no ticks; the CPU
timer of :mod:`.host` ends those, and the gateway's wall-clock watchdog ends what ignores both.

Both exceptions derive from BaseException, which scripts cannot name (it is not among their
builtins, and a bare ``except:`` is refused), so ``except Exception`` does not swallow them. Once
spent, the budget stays spent: every later tick raises again, so no handler can loop on.
"""

from __future__ import annotations

DEFAULT_STEPS = 20_000_000  # far beyond any real upload script; about 2 s of loop steps on a PC


class BudgetExceeded(BaseException):
    """A script used up one of its per-call budgets."""


class StepBudgetExceeded(BudgetExceeded):
    """Raised by ``_tick_()`` once a call has made more loop and function steps than allowed."""


class CpuBudgetExceeded(BudgetExceeded):
    """Raised by the CPU timer in a script that used up its CPU time for one call."""


class StepBudget:
    """Counts the steps of the running call; the compiled script calls :meth:`tick`."""

    def __init__(self, steps: int = DEFAULT_STEPS) -> None:
        self.steps = steps
        self._left = steps

    def renew(self) -> None:
        """Give the next call its full budget."""
        self._left = self.steps

    def tick(self) -> bool:
        """Spend one step; True, so that ``_tick_() and expression`` keeps the expression's value."""
        self._left -= 1
        if self._left < 0:
            raise StepBudgetExceeded
        return True
