"""The typed results stages hand each other (frozen dataclasses; the store keeps their fields as JSON).

Every stage's return annotation is one of these, and a consumer annotates its parameters (also its
`**inputs`, with a union where a table reads several kinds) with the types it takes: the graph
checks producer and consumer agree when it is built (`pipeline.engine.Node`, so at `--dry-run`),
the engine hands the consumer the dataclass, and a record that lacks a field is incomplete (the
stage runs again) instead of a `KeyError` in a reader.

A result holds what the stage computed and nothing about how it was watched: no MLflow run id (the
tracker finds a key's run by its `dsla.key` tag), so a result recomputed to the same values is the
same result (the engine's early cut-off, `pipeline.engine.execution`). What a run logs the tracker
decides from these types (its `records.logged`); no stage imports the tracker.
"""
from __future__ import annotations

from dataclasses import dataclass
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
    fingerprint: str  # digest of the annotations and image lists (names, sizes): the cheap check it is intact
    content: str  # sha256 of every annotation and image byte: equal results mean equal data
    description: str  # one line for reports and MLflow


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


@dataclass(frozen=True)
class Evaluated:
    """The evaluate stage's result: a trained model's metrics on the whole validation set."""

    metrics: dict[str, float]  # fractions: AP, MR2, JI, Recall (CrowdHuman) or AP, AP50, AP75 (COCO)
    detections: str  # the detections file anyone can re-score
    epochs: int  # epochs the model trained
    curve: list[list[float]]  # the training's validation curve, [epoch, AP] (the claims' plateau gate)
    run: dict[str, Any]  # as `Trained.run`
    data: str
    weights: str
    knobs: dict[str, Any]


@dataclass(frozen=True)
class Counted:
    """The complexity stage's result: params and FLOPs of one variant's model in one phase (Table 5)."""

    complexity: dict[str, float]  # params_M, GFLOPs, params, flops
    input_shape: list[int]  # (H, W) counted at
    run: dict[str, Any]  # profile, dataset, variant, phase
    data: str


@dataclass(frozen=True)
class Tabled:
    """The table stage's result: one of the paper's tables from its rows' results."""

    table: str
    rows: dict[str, dict[str, Any]]  # by row id: mean, std, n, per-seed numbers, curves (`stages.table`)
    caption: str
    added_rows: list[dict[str, Any]]  # the declarations of the rows of ours it has
    files: list[str]  # the table as md, csv and tex


@dataclass(frozen=True)
class Figured:
    """The figure stage's result: Figure 4's curves and what the convergence claims measure."""

    figure: str
    panels: dict[str, dict[str, list[list[float]]]]  # dataset -> variant -> [[epoch, seed-mean AP], ...]
    convergence: dict[str, int | None]  # "<dataset>/<variant>" -> flatten epoch of the seed-mean curve
    reaches_baseline_final: dict[str, int | None]
    caption: str
    per_seed: dict[str, dict[str, list[list[float]]]]  # "<dataset>/<variant>" -> seed -> curve
    lr_drop: int | None
    png: str


@dataclass(frozen=True)
class Pictured:
    """The qualitative stage's result: the pictures of the paper's Figures 5-7 kind."""

    files: list[str]


@dataclass(frozen=True)
class Reported:
    """The report stage's result: where the report is, and the verdict of each claim."""

    report_dir: str
    index: str
    files: list[str]
    verdicts: dict[str, str]  # `dsla.claim.<slug>` -> "verdict: effect [interval], n"
