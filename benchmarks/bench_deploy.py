"""Deployment: the DSLA model converted for inference against the baseline — params, FLOPs, latency.

    .venv/bin/python -m benchmarks.bench_deploy [--quick] [--threads N]

For the ``tiny`` model (256 px) and the ``paper`` ResNet-50 model (1333×800; 512 px with
``--quick``), randomly initialised:
* deployed = ``dsla.analysis.deploy.deploy_model`` of a DSLA model (SLA subnet dropped, loaded
  strictly into the baseline architecture); its parameter count and parameter names/shapes
  against a baseline built from the baseline config;
* FLOPs of both configs' inference graphs at the same input size
  (``dsla.analysis.complexity.model_complexity``, mmengine's counter);
* latency of one ``test_step`` (forward and the no-NMS top-k decoding, one image), deployed
  against baseline against the unconverted DSLA model in eval mode, A/B interleaved, and
  whether the deployed model's detections equal the unconverted model's.
"""
from __future__ import annotations

import torch

from .common import Goal, Section, cli, interleaved, ratio_goal, round_ratios, spread
from .detectors import build_detector, crowd_batch, load_config, size_label

LATENCY_GOAL = 1.02
# (profile, height, width, repetitions, quick repetitions)
CASES = {False: [("tiny", 256, 256, 40), ("paper", 800, 1333, 9)],
         True: [("tiny", 256, 256, 15), ("paper", 512, 512, 3)]}


def parameter_shapes(model: torch.nn.Module) -> dict[str, tuple]:
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def predict(model, batch):
    def step():
        with torch.no_grad():
            return model.test_step(batch)
    return step


def same_detections(a, b) -> bool:
    return all(torch.equal(x.pred_instances.bboxes, y.pred_instances.bboxes)
               and torch.equal(x.pred_instances.scores, y.pred_instances.scores) for x, y in zip(a, b))


def measure(quick: bool = False) -> Section:
    from dsla.analysis.complexity import model_complexity
    from dsla.analysis.deploy import deploy_model

    section = Section("2. Deployment: DSLA deployed vs baseline",
                      f"python -m benchmarks.bench_deploy{' --quick' if quick else ''}")
    rows = []
    for profile, height, width, repeats in CASES[quick]:
        dsla_cfg, baseline_cfg = load_config(profile, "dsla"), load_config(profile, "baseline")
        dsla = build_detector(dsla_cfg).eval()
        deployed = deploy_model(dsla, dsla_cfg.model)
        baseline = build_detector(baseline_cfg).eval()
        params = {name: sum(p.numel() for p in m.parameters())
                  for name, m in (("deployed", deployed), ("baseline", baseline), ("dsla", dsla))}
        same_layout = parameter_shapes(deployed) == parameter_shapes(baseline)
        flops_deployed = model_complexity(dsla_cfg.model, "infer", (height, width))["flops"]
        flops_baseline = model_complexity(baseline_cfg.model, "infer", (height, width))["flops"]

        batch = crowd_batch(1, height, width, 0, seed=1, with_gt=False)
        identical = same_detections(predict(deployed, batch)(), predict(dsla, batch)())
        timings = interleaved({"deployed": predict(deployed, batch),
                               "baseline": predict(baseline, batch),
                               "dsla_eval": predict(dsla, batch)}, repeats=repeats, warmup=1)
        latency = timings["deployed"].cpu_median / timings["baseline"].cpu_median
        latency_wall = timings["deployed"].wall_median / timings["baseline"].wall_median
        rows.append((profile, size_label(height, width),
                     f"{params['deployed']:,} / {params['baseline']:,} ({params['dsla']:,})",
                     "yes" if same_layout else "NO",
                     f"{flops_deployed / 1e9:.3f} / {flops_baseline / 1e9:.3f}",
                     f"{timings['deployed'].cpu_median * 1e3:.1f} / "
                     f"{timings['baseline'].cpu_median * 1e3:.1f} / "
                     f"{timings['dsla_eval'].cpu_median * 1e3:.1f}",
                     f"{latency:.3f} ({latency_wall:.3f})",
                     spread(round_ratios(timings["deployed"], timings["baseline"])), repeats,
                     "yes" if identical else "NO"))
        section.goals += [
            Goal(f"params deployed / baseline, {profile}",
                 f"{params['deployed'] / params['baseline']:.4f} (same names and shapes: "
                 f"{'yes' if same_layout else 'no'})", "1.00",
                 params["deployed"] == params["baseline"] and same_layout),
            Goal(f"FLOPs deployed / baseline, {profile} at {size_label(height, width)}",
                 f"{flops_deployed / flops_baseline:.4f}", "1.00", flops_deployed == flops_baseline),
            ratio_goal(f"latency deployed / baseline, {profile} (CPU time)", latency, LATENCY_GOAL),
        ]
    section.table(("profile", "input", "params deployed / baseline (DSLA undeployed)",
                   "same layout", "GFLOPs deployed / baseline",
                   "ms per image: deployed / baseline / DSLA eval (CPU)",
                   "latency ratio CPU (wall)", "per-round ratio IQR", "reps", "deployed = DSLA detections"), rows)
    section.notes += [
        "latency: one image per `test_step` (data preprocessing, forward, top-k decoding; no NMS), "
        "medians over interleaved repetitions",
        "the deployed model has exactly the baseline's parameters, so its graph and FLOPs are the "
        "baseline's by construction; the latency ratio measures the noise floor of the machine "
        "as much as anything (the two graphs are the same)",
        "'DSLA eval' is the unconverted DSLA model in eval mode: its head skips the SLA subnet, "
        "so it is as fast; conversion only drops the SLA parameters",
    ]
    return section


if __name__ == "__main__":
    cli(measure, __doc__)
