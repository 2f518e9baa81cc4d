"""The typed results stages hand each other (frozen dataclasses; the store keeps their fields as JSON).

A stage declares the type of its result (`Stage(returns=...)` in `pipeline.graph`), and a consumer
annotates its parameter with it: the graph checks the two agree when it is built (`Node`), and the
engine hands the consumer the dataclass. Consumers that take `**inputs` (tables, figure, report)
get the recorded dict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prepared:
    """The prepare stage's result: one dataset ready to train and evaluate on."""

    data_root: str  # absolute, ending in "/"
    train_ann: str  # annotation files, relative to data_root
    val_ann: str
    curve_ann: str  # the validation subset Figure 4's per-epoch curves use (val_ann when all)
    density: dict[str, Any]  # Table 1's statistics of the training split
    annotations: list[str]
    images: list[str]  # image folders, relative to data_root
    fingerprint: str  # content digest of the annotations and image lists
    description: str  # one line for reports and MLflow
    run_id: str | None = field(default=None)  # the MLflow run of the execution that made it


@dataclass(frozen=True)
class Trained:
    """The train stage's result: one finished training."""

    work_dir: str
    checkpoint: str  # the last checkpoint
    config: str  # the dumped config it trained with
    epochs: list[dict[str, Any]]  # per validated epoch: {"epoch": e, metric: value, ...}
    final: dict[str, Any]  # the last of `epochs`
    knobs: dict[str, Any]  # the method knobs it trained with (overridden or the config's)
    run: dict[str, Any]  # profile, dataset, variant, seed and overrides
    data: str  # a description of the data it trained on
    weights: str  # which weights the backbone started from
    run_id: str | None = field(default=None)  # the MLflow run of the execution that made it
