"""Tiny stage functions for the engine tests (module level, so worker processes can import them).

Every call appends `<node> <pid>` to the file named by $FAKE_STAGE_LOG, so a test can see exactly
which stages ran and in which process.
"""
from __future__ import annotations

import os
import time

from pipeline.engine import Stage


def _log(ctx) -> None:
    with open(os.environ["FAKE_STAGE_LOG"], "a") as handle:
        handle.write(f"{ctx.node} {os.getpid()}\n")


def make_number(ctx, value):
    _log(ctx)
    return {"value": value}


def add(ctx, left, right):
    _log(ctx)
    return {"value": left["value"] + right["value"]}


def double(ctx, x):
    _log(ctx)
    return {"value": 2 * x["value"]}


def explode(ctx, x):
    _log(ctx)
    raise RuntimeError(f"boom on {x['value']}")


def slow(ctx, seconds):
    _log(ctx)
    time.sleep(seconds)
    return {"value": seconds}


NUMBER = Stage("number", make_number)
SLOW = Stage("slow", slow)
ADD = Stage("add", add)
DOUBLE = Stage("double", double)
EXPLODE = Stage("explode", explode)


def calls(log_path) -> list[str]:
    """Node names that ran, in order."""
    if not os.path.exists(log_path):
        return []
    return [line.split()[0] for line in open(log_path).read().splitlines()]
