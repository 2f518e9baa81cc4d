"""Ctrl-C stops the run, however a library wraps the `KeyboardInterrupt` it caused.

A SIGINT arriving while mmengine formats a config comes out as a `SyntaxError` (mmengine catches
the interrupt inside yapf and raises its own error), from a data loader as a `RuntimeError`, and
so on: looking at the exception type cannot tell an interrupt from a failure. So the pipeline's
SIGINT handler remembers that an interrupt arrived before raising `KeyboardInterrupt`, and the
engine asks `received_since(started)` when a stage fails: an interrupted stage is not recorded FAILED, it is
left as it was (a training resumable from its checkpoint) and the run stops (exit 130).
"""
from __future__ import annotations

import signal
import threading
import time

_received_at: float | None = None  # time.monotonic() of the last SIGINT (or SIGTERM, see `install_sigterm`)
_signal_name: str | None = None  # "SIGINT" or "SIGTERM": the last one received


def _on_sigint(signum, frame) -> None:
    global _received_at, _signal_name
    _received_at = time.monotonic()
    _signal_name = signal.Signals(signum).name
    raise KeyboardInterrupt


def install_sigterm() -> None:
    """Make SIGTERM (what `kill` and Slurm send) stop this process as Ctrl-C does: the run's
    `finally` blocks run, so worker processes are stopped and launched jobs cancelled, instead of
    the process vanishing with its workers orphaned (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigint)


def last_signal() -> str | None:
    """The name of the last stopping signal this process received ("SIGINT", "SIGTERM"), if any."""
    return _signal_name


def install() -> None:
    """Use the remembering SIGINT handler in this process (main thread only; idempotent)."""
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGINT) is not _on_sigint:
        signal.signal(signal.SIGINT, _on_sigint)


def received_since(started: float) -> bool:
    """Whether a SIGINT arrived in this process after `started` (a `time.monotonic()`)."""
    return _received_at is not None and _received_at >= started


def reraise_if_interrupted(error: BaseException, started: float) -> None:
    """Raise `KeyboardInterrupt` (chained to `error`) if a SIGINT arrived since `started`."""
    if received_since(started) and not isinstance(error, KeyboardInterrupt):
        raise KeyboardInterrupt(f"interrupted (surfaced as {type(error).__name__})") from error
