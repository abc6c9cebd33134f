"""Stop signals (Ctrl-C, SIGTERM, SIGHUP) taken where Python code can take them.

A signal's handler runs between two bytecodes of whatever the main thread is doing. Raised
there, the interrupt can land inside a compiled kernel's call (numba then reports a
`SystemError`, "returned a result with an exception set", instead of the interrupt) or
inside a finaliser, where Python prints it and goes on. So the command line's handler
also records the signal (`request`), and the long loops look at the record once a day
or once a result (`check`): an interrupt lost on the way is raised there, and one that
came back as a `SystemError` is recognised (`pending`).
"""

from __future__ import annotations

import signal

_pending: list[int] = []  # the stop signals received, in order (signals are process-wide)


class Interrupted(KeyboardInterrupt):
    """A stop signal, handled as Ctrl-C: SIGINT, or SIGTERM and SIGHUP (what `timeout`,
    SLURM and a closed terminal send)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def request(signum: int) -> None:
    """Record a stop signal (the handler's first step)."""
    _pending.append(signum)


def pending() -> int | None:
    """The first stop signal received and not yet cleared, if any."""
    return _pending[0] if _pending else None


def check() -> None:
    """Raise the recorded stop, if a signal came: once a day, and once a result."""
    if _pending:
        raise Interrupted(_pending[0])


def clear() -> None:
    """Forget the signals received (a process that goes on after handling them: tests)."""
    _pending.clear()
