"""The stages line of `pipeline run`: done / total, what runs, elapsed and an ETA from measured costs.

The ETA adds up what the remaining stages should cost, each estimated from what was measured in
this run: the mean time of the stages of the same kind that already ran here, else, for a training,
from the epochs a running training finished so far (seconds per epoch x the epochs left); before
any training has measured an epoch the line says `ETA ?` rather than guessing from fixed weights
(whose guess swung from 2 h to 1 h for a 4-minute run); a lighter stage of a kind not measured
yet counts nothing until one has run. Parallel jobs divide it.

On a terminal the line is redrawn in place (`\r`, clipped to the terminal width, at most 80
columns) every few seconds; when the output is a file or a pipe, each event is one plain line
and nothing is redrawn.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import Callable, TextIO

WIDTH = 80


def clock(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class StageProgress:
    """`start(node)`, `finish(node, line)` and `close()` from the run's listener.

    `kinds[node]` names the cost class of a node (its stage name); `epochs(node)` returns
    `(finished epochs, total epochs)` of a running training, or None."""

    def __init__(self, todo: list, kind: Callable[[object], str], jobs: int = 1, stream: TextIO | None = None,
                 epochs: Callable[[object], tuple[int, int] | None] | None = None, tty: bool | None = None,
                 now: Callable[[], float] = time.monotonic, refresh: float = 2.0):
        self.todo, self.kind, self.jobs = list(todo), kind, max(1, jobs)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.epochs = epochs or (lambda node: None)
        self.now = now
        self.began = now()
        self.finished: list = []
        self.running: dict = {}  # node -> (started, epochs done when it started or None)
        self.measured: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        if self.tty and refresh > 0:
            self._thread = threading.Thread(target=self._tick, args=(refresh,), daemon=True)
            self._thread.start()

    # --- estimates ----------------------------------------------------------------------------
    def _mean(self, kind: str) -> float | None:
        seconds = self.measured.get(kind)
        return sum(seconds) / len(seconds) if seconds else None

    def _epoch_rate(self) -> tuple[float | None, int | None]:
        """Seconds per epoch measured on the running trainings, and their total epochs."""
        rates, total = [], None
        for node, (started, first) in self.running.items():
            point = self.epochs(node)
            if point is None:
                continue
            done, total = point[0], point[1] or total
            base = first if first is not None else 0
            if done > base:
                rates.append((self.now() - started) / (done - base))
        return (sum(rates) / len(rates) if rates else None), total

    def eta(self) -> float | None:
        """Seconds left, or None while some remaining stage has no measured cost yet."""
        per_epoch, total_epochs = self._epoch_rate()
        left = 0.0
        for node in self.todo:
            if node in self.finished:
                continue
            kind = self.kind(node)
            mean = self._mean(kind)
            if node in self.running:
                started, first = self.running[node]
                point = self.epochs(node)
                if point and point[1] and per_epoch is not None:
                    left += per_epoch * max(0, point[1] - point[0])
                elif mean is not None:
                    left += max(0.0, mean - (self.now() - started))
                elif kind != "train":
                    continue  # a light stage that is running: seconds
                else:
                    return None
            elif mean is not None:
                left += mean
            elif kind == "train" and per_epoch is not None and total_epochs:
                left += per_epoch * total_epochs
            elif kind == "train":
                return None
            # a lighter stage of a kind not measured yet (an evaluation before the first one ends)
            # counts nothing until it is: a slight underestimate rather than no ETA at all
        return left / min(self.jobs, max(1, len(self.todo) - len(self.finished)))

    # --- events -------------------------------------------------------------------------------
    def start(self, node) -> None:
        with self._lock:
            point = self.epochs(node)
            self.running[node] = (self.now(), point[0] if point else None)
            self._show(f"start   {getattr(node, 'name', node)}")

    def finish(self, node, line: str, ran: bool = True) -> None:
        with self._lock:
            started = self.running.pop(node, None)
            if node not in self.finished:
                self.finished.append(node)
            if ran and started is not None:
                self.measured.setdefault(self.kind(node), []).append(self.now() - started[0])
            self._show(line)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self.tty:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    # --- drawing ------------------------------------------------------------------------------
    def status(self) -> str:
        eta = self.eta()
        names = [getattr(n, "name", str(n)) for n in self.running]
        running = f" | {names[0]}" + (f" +{len(names) - 1}" if len(names) > 1 else "") if names else ""
        tail = f" | {clock(self.now() - self.began)} ETA {clock(eta) if eta is not None else '?'}"
        head = f"stages {len(self.finished)}/{len(self.todo)}"
        width = min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns) if self.tty else WIDTH
        room = width - 1 - len(head) - len(tail)
        return head + fit(running, max(0, room)) + tail

    def _show(self, line: str | None) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + (line + "\n" if line else "") + self.status())
        elif line and not line.startswith("start"):  # a file or a pipe: plain lines, nothing redrawn
            eta = self.eta()
            self.stream.write(f"{line} ({len(self.finished)}/{len(self.todo)} stages, "
                              f"ETA {clock(eta) if eta is not None else '?'})\n")
        self.stream.flush()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                if not self._stop.is_set():
                    self._show(None)
