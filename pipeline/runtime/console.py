"""Keep mmengine's console chatter (config dumps, hook tables, per-iteration logs) off the terminal.

mmengine's logger writes everything to the run's log file anyway (`work_dirs/<key>/<time>/<time>.log`,
also an MLflow artifact of the train run); on the terminal the pipeline shows progress bars and a
summary instead. `--verbose` keeps the console output.
"""
from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path


@contextlib.contextmanager
def console_to(path: Path, enabled: bool = True):
    """Send stdout (where mmengine's logger prints) and Python warnings to `path` while building and
    running a Runner.

    The file stays open: mmengine's logger keeps the stream it was created with and may still
    write to it after the block.
    """
    if not enabled:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)
    with contextlib.redirect_stdout(stream), warnings.catch_warnings():
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: stream.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        yield
    sys.stdout.flush()
