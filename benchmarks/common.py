"""What every benchmark shares: the machine it ran on, interleaved A/B timing, result sections.

A benchmark module exposes ``measure(quick: bool) -> Section`` and ends with
``if __name__ == "__main__": cli(measure, __doc__)``; ``benchmarks.run_all`` calls the same
``measure`` functions and writes their sections into ``reports/benchmarks.md``.

Timing on a shared 2-core machine: the candidates of one comparison are run in alternating
order, repetition by repetition (A B, B A, A B, ...), so load from other processes hits every
side alike, and medians are reported. Each repetition records wall time and the CPU time of this
process; with one torch thread (the default here, ``--threads``) CPU time is the work done and
hardly moves with the load, while wall time also counts the waiting for a core.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_THREADS = 1


# --------------------------------------------------------------------------------- the machine
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), with family/model numbers when it is generic."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    model = fields.get("model name", platform.machine())
    if "cpu family" in fields and "model" in fields:
        model += f" (family {fields['cpu family']}, model {fields['model']})"
    return model


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was (1-minute load average)."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "cores": cores, "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "load": os.getloadavg()[0]}


def load_note(load: float, cores: int, own_threads: int = 0) -> str:
    """One sentence on the load the numbers were measured under; ``own_threads`` is what the
    benchmark itself adds to the load average."""
    others = load - own_threads
    if others >= 0.5 * cores:
        return (f"measured UNDER LOAD: 1-min load average {load:.1f} on {cores} cores, about "
                f"{max(others, 0):.1f} of it from other processes; absolute times are inflated, "
                f"ratios are taken within this run")
    return (f"measured on a quiet machine (1-min load average {load:.1f} on {cores} cores, "
            f"about {own_threads} of it this benchmark)")


def machine_lines(info: Mapping[str, Any]) -> list[str]:
    return [f"- machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} with "
            f"{info['torch_threads']} thread(s), Python {info['python']}",
            f"- load: {load_note(info['load'], info['cores'], info['torch_threads'])}"]


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def quiet() -> None:
    """Keep mmengine's logs (weight-init tables, FLOP-counter warnings) and library warnings off
    the output: errors only."""
    from mmengine.logging import MMLogger

    for name in ("mmengine", "benchmarks"):  # the last one created is mmengine's current logger
        MMLogger.get_instance(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------ timing
@dataclass
class Timing:
    """Wall and CPU seconds of each repetition of one candidate."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def round_ratios(numerator: Timing, denominator: Timing) -> list[float]:
    """CPU-time ratio of the two candidates within each interleaved round (their spread shows
    how far the ratio of medians can be trusted on a busy machine)."""
    return [a / b for a, b in zip(numerator.cpu, denominator.cpu)]


def spread(values: Sequence[float]) -> str:
    """Interquartile range of ``values`` as text, e.g. ``0.99–1.05``."""
    if len(values) < 2:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.3f}–{high:.3f}"


def timed(function: Callable[[], Any]) -> tuple[Any, float, float]:
    """``function()``'s result, wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def interleaved(candidates: Mapping[str, Callable[[], Any]], repeats: int,
                warmup: int = 1) -> dict[str, Timing]:
    """Time every candidate ``repeats`` times (after ``warmup`` untimed rounds), alternating the
    order each round (A B, B A, ...) so neither side always runs first."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names = list(candidates)
    timings = {name: Timing() for name in names}
    for round_ in range(warmup + repeats):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            _, wall, cpu = timed(candidates[name])
            if round_ >= warmup:
                timings[name].wall.append(wall)
                timings[name].cpu.append(cpu)
    return timings


# ------------------------------------------------------------------------------- the results
@dataclass
class Goal:
    """One goal of the issue: what was measured against what was asked."""

    what: str
    measured: str
    target: str
    met: bool | None  # None: not decidable from this run (says why in `measured`)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "n/a"}[self.met]


@dataclass
class Section:
    """One benchmark's result: a title, the command that reproduces it, tables, goals, notes,
    and when and on what it was measured."""

    title: str
    command: str
    goals: list[Goal] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # markdown: tables and paragraphs, in order
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)  # machine() as run_section fills it
    measured_at: str = ""

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(markdown_table(header, rows))

    def text(self, paragraph: str) -> None:
        self.blocks.append(paragraph)

    def markdown(self, level: int = 2) -> str:
        lines = [f"{'#' * level} {self.title}", "", f"`{self.command}` — {self.seconds:.0f} s, "
                 f"{self.measured_at}", ""]
        if self.machine:
            lines += machine_lines(self.machine) + [""]
        if self.goals:
            lines += [markdown_table(("goal", "measured", "target", "verdict"),
                                     [(g.what, g.measured, g.target, g.verdict)
                                      for g in self.goals]), ""]
        for block in self.blocks:
            lines += [block, ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Section":
        return cls(**{**data, "goals": [Goal(**goal) for goal in data.get("goals", [])]})


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")
    lines = ["| " + " | ".join(map(cell, header)) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def ratio_goal(what: str, value: float, limit: float, *, at_most: bool = True,
               unit: str = "x") -> Goal:
    """A goal of the form ``value <= limit`` (or ``>=`` with ``at_most=False``)."""
    met = value <= limit if at_most else value >= limit
    return Goal(what, f"{value:.3f}{unit}", f"{'<=' if at_most else '>='} {limit:g}{unit}", met)


# --------------------------------------------------------------------------- command line
def cli(measure: Callable[..., Section], doc: str | None,
        extra: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Run one benchmark alone: parse ``--quick``/``--threads`` (and ``extra`` options, passed
    to ``measure`` as keywords), print the section (with the machine it ran on)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"torch threads (default {DEFAULT_THREADS}, see benchmarks/common.py)")
    if extra is not None:
        extra(parser)
    args = vars(parser.parse_args())
    set_threads(args.pop("threads"))
    quiet()
    print(run_section(measure, **args).markdown())


def run_section(measure: Callable[..., Section], **kwargs) -> Section:
    """``measure(**kwargs)`` with its duration, date and machine (load: the higher of the load
    averages at its start and its end) filled in."""
    started, load = time.perf_counter(), os.getloadavg()[0]
    section = measure(**kwargs)
    section.seconds = time.perf_counter() - started
    section.measured_at = time.strftime("%Y-%m-%d %H:%M %Z")
    section.machine = machine()
    section.machine["load"] = max(load, section.machine["load"])
    return section
