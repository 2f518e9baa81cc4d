"""Option value types of the CLI: a bad value is refused by argparse, before any work starts.

`pipeline.cli` makes argparse's refusal one line (`pipeline run: error: argument --jobs: ...`)
with exit status 2, like every other CLI error.
"""
from __future__ import annotations

import argparse
import math


def at_least(minimum: int):
    """An `int` option type that refuses values below `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"int>={minimum}"
    return parse


def positive_seconds(text: str) -> float:
    """A `float` option type for durations: finite and > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


positive_int = at_least(1)
