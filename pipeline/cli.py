"""The `pipeline` command: one sub-command group per module under `pipeline.commands`.

Each command module (data, run, train, sweep) exposes `register(subparsers)`, which adds its
sub-commands and sets `func` on their parsers; `main` parses and calls it. The command modules
import torch, mmdet and MLflow only inside their functions, so `pipeline --help` starts fast.
"""
from __future__ import annotations

import argparse
import sys


class OneLineErrors(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`pipeline run: error: argument --jobs: ...`) with
    exit status 2, like every other error of the CLI; `--help` still shows the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(
        prog="pipeline",
        description="DSLA reproduction pipeline: data, training, evaluation, sweeps and the paper's tables.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    from .commands import data, run, sweep, train
    for module in (data, run, train, sweep):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
