"""Stage `complexity`: params and FLOPs of a variant's model (Table 5).

Phase `infer` counts the deployed graph (a DSLA model converted to the baseline: the O2O subnet
only), phase `train` the model as trained (with the SLA subnet), both via
`dsla.analysis.complexity.model_complexity`, for one image at the config's test input size.
"""
from __future__ import annotations

from pathlib import Path

from experiments import compose

from ..runtime.console import console_to
from .contracts import Counted

DEFAULT_SHAPE = (800, 1333)  # mmdet's usual test scale (H, W), when the config names none


def test_input_shape(cfg) -> tuple[int, int]:
    """(H, W) of the `Resize` in the config's test pipeline (mmdet's `scale` is (W, H))."""
    for transform in cfg.get("test_dataloader", {}).get("dataset", {}).get("pipeline", []):
        if transform.get("type") == "Resize" and transform.get("scale"):
            width, height = transform["scale"]
            return int(height), int(width)
    return DEFAULT_SHAPE


def complexity(ctx, *, profile: str, dataset: str, variant: str, phase: str, config: str,
               config_digest: str) -> Counted:
    from dsla.analysis.complexity import model_complexity

    cfg = compose.load(config)
    with console_to(Path(ctx.work_dir) / "console.log", enabled=ctx.settings.get("quiet", True)):
        measured = model_complexity(cfg.model, phase, test_input_shape(cfg))
    values = {"params_M": measured["params"] / 1e6, "GFLOPs": measured["flops"] / 1e9,
              "params": measured["params"], "flops": measured["flops"]}
    return Counted(complexity=values, input_shape=list(measured["input_shape"]),
                   run={"profile": profile, "dataset": dataset, "variant": variant, "phase": phase},
                   data=f"input {measured['input_shape'][0]}x{measured['input_shape'][1]}")
