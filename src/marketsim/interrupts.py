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
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
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


@contextmanager
def deferred() -> Iterator[None]:
    """Stop signals only recorded while the block runs (starting a worker process: stopped
    halfway, it failed at its first read with a traceback), then raised. Signals have
    handlers in the main thread only; elsewhere this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for signum, handler in saved.items():
        if callable(handler):  # (an ignored signal stays ignored)
            signal.signal(signum, _record)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if callable(handler):
                signal.signal(signum, handler)
    check()


def _record(signum: int, _frame) -> None:
    request(signum)


@contextmanager
def ignored_by_new_processes() -> Iterator[None]:
    """Processes started in the block ignore Ctrl-C (SIGINT), a disposition a new program
    keeps: Ctrl-C at a terminal reaches the whole process group, and the helpers of a
    command (a forkserver, importing) stopped with a traceback each; the command stops
    them itself. Here the signal is blocked meanwhile, so it waits instead of being lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
