"""The `pipeline` command: one sub-command group per module under `pipeline.commands`.

Each module in `COMMAND_MODULES` exposes `register(subparsers)`, which adds its sub-commands and
sets `func` on their parsers; `main` parses and calls it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("pipeline.commands.data", "pipeline.commands.run", "pipeline.commands.train", "pipeline.commands.sweep")


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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
