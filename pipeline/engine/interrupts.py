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

_received_at: float | None = None  # time.monotonic() of the last SIGINT


def _on_sigint(signum, frame) -> None:
    global _received_at
    _received_at = time.monotonic()
    raise KeyboardInterrupt


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
