"""Stage functions for the reliability tests (module level: worker processes import them by name).

Every call appends `<node> <pid>` to $RELIABILITY_STAGE_LOG.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pipeline.engine import Stage


def _log(ctx) -> None:
    with open(os.environ["RELIABILITY_STAGE_LOG"], "a") as handle:
        handle.write(f"{ctx.node} {os.getpid()}\n")


def number(ctx, value):
    _log(ctx)
    return {"value": value}


def interrupted_inside_a_library(ctx):
    """Ctrl-C arrives while a library runs, and the library re-raises it as its own error (as
    mmengine does when the interrupt lands in yapf while it formats a config)."""
    _log(ctx)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    except KeyboardInterrupt:
        raise SyntaxError("invalid syntax (<unknown>, line 1)") from None
    return {"value": 0}


def held_until_released(ctx, folder):
    """Writes `<folder>/started`, then returns once `<folder>/release` exists."""
    _log(ctx)
    (Path(folder) / "started").write_text(str(os.getpid()))
    while not (Path(folder) / "release").exists():
        time.sleep(0.05)
    return {"value": 1}


NUMBER = Stage("number", number)
INTERRUPTED = Stage("interrupted", interrupted_inside_a_library)
HELD = Stage("held", held_until_released)


def calls(path) -> list[str]:
    path = Path(path)
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []
