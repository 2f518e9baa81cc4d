"""Assignment cost: our sparse assigners against the dense reference and Hungarian matching.

    .venv/bin/python -m benchmarks.bench_assignment [--quick] [--threads N] [--instances 100 300]

The problem is CrowdHuman-sized: M pedestrian boxes (100, and 300 for CrowdHuman's crowded tail)
against every FPN point of a 1333×800 input (padded to 1344×800; strides 8–128 as the paper
profile's head: 22,400 points), with detached predictions as a training step sees them (boxes
of a few strides around each point, sigmoid scores). Timed, A/B interleaved, on the same inputs:
* ours, SLA: the paper profile's ``SoftLabelAssigner`` (certain anchor + K soft anchors +
  eq. 3–4 targets), Ω_j enumerated per FPN level (``prior_pairs``);
* ours, eq. 2 O2O: ``OneToOneAssigner`` (the O2O subnet's named option), the same enumeration;
* dense reference: the same two assigners with ``sparse=False`` — the dense (N, M) Ω_j mask and
  S_ij of the previous implementation, the same settlement of conflicts;
* OneNet: ``MinCostAssigner`` (the baseline's and the O2O subnet's default), the
  2·focal + 5·L1 + 2·(−GIoU) cost over all N × M pairs (no prior), chunked over instances, settled
  by Hungarian matching on the dense cost as OneNet; beside it the same on the union of each
  instance's M cheapest points (``restrict=True``, exact) and the greedy settlement
  (``settle='greedy'``), with their total costs;
* Hungarian, as DeFCN's POTO: the quality matrix S_ij (eq. 2, −1 outside Ω_j) built densely, then
  ``scipy.optimize.linear_sum_assignment`` (maximize) on it; the solver alone is reported too.
Share of a step: a DSLA ResNet-50 training step (random init, batch 1, 100 boxes) at 1333×800
(512×512 with ``--quick``) and the time its two assignments (OneNet O2O + SLA) take.
"""
from __future__ import annotations

import math
import statistics

import torch
from mmengine.structures import InstanceData

from .common import Section, cli, interleaved, ratio_goal, round_ratios, spread, timed
from .detectors import build_detector, crowd_batch, crowd_boxes, load_config, size_label, train_step

HEIGHT, WIDTH, PAD = 800, 1333, 32
HUNGARIAN_GOAL, DENSE_GOAL, SHARE_GOAL = 10.0, 3.0, 0.05
ROWS = {"sla": "ours, SLA: certain + K soft anchors + soft targets (SoftLabelAssigner, sparse)",
        "o2o_eq2": "ours, eq. 2 O2O: certain anchor (OneToOneAssigner, sparse)",
        "sla_dense": "dense reference: SoftLabelAssigner(sparse=False)",
        "o2o_eq2_dense": "dense reference: OneToOneAssigner(sparse=False)",
        "onenet": "OneNet: MinCostAssigner, dense cost + Hungarian (default, as OneNet)",
        "onenet_dense": "  the same on each instance's M cheapest points (restrict=True, exact)",
        "onenet_greedy": "  greedy settlement instead (settle='greedy', our earlier rule)",
        "hungarian": "Hungarian (DeFCN): dense quality matrix + linear_sum_assignment",
        "solver_only": "  of which linear_sum_assignment alone"}


def crowd_problem(head, num_instances: int, seed: int = 0) -> tuple[InstanceData, InstanceData]:
    """Points of every level of ``head`` for a 1333×800 input, predictions, ground truth."""
    generator = torch.Generator().manual_seed(seed)
    padded = (math.ceil(HEIGHT / PAD) * PAD, math.ceil(WIDTH / PAD) * PAD)
    sizes = [(math.ceil(padded[0] / s), math.ceil(padded[1] / s)) for s in head.strides]
    priors = torch.cat(head.prior_generator.grid_priors(sizes, device="cpu", with_stride=True))  # (N, 4)
    distances = priors[:, 2:3] * torch.exp(0.7 + 0.6 * torch.randn(len(priors), 4, generator=generator))
    bboxes = torch.cat([priors[:, :2] - distances[:, :2], priors[:, :2] + distances[:, 2:]], dim=1)
    logits = -2.0 + 1.5 * torch.randn(len(priors), head.cls_out_channels, generator=generator)
    pred = InstanceData(priors=priors, bboxes=bboxes, scores=logits.sigmoid())
    gt = InstanceData(bboxes=crowd_boxes(num_instances, HEIGHT, WIDTH, generator),
                      labels=torch.zeros(num_instances, dtype=torch.long))
    return pred, gt


def quality_matrix(sla_assigner, pred: InstanceData, gt: InstanceData) -> torch.Tensor:
    """Eq. 2's S_ij (N, M) built densely, −1 outside Ω_j (DeFCN's masking)."""
    from dsla.models.task_modules.assigners.one_to_one_assigner import matching_quality, prior_region

    in_prior = prior_region(pred.priors, gt.bboxes, sla_assigner.center_radius)  # (N, M)
    point, instance = in_prior.nonzero(as_tuple=True)
    quality = torch.full(in_prior.shape, -1.0)
    quality[point, instance] = matching_quality(pred.scores, pred.bboxes, gt.bboxes, gt.labels,
                                                point, instance, sla_assigner.poto_alpha)
    return quality


def hungarian(quality: torch.Tensor):
    """DeFCN's one-to-one matching: (point indices, instance indices) maximising Σ S_ij."""
    from scipy.optimize import linear_sum_assignment

    instances, points = linear_sum_assignment(quality.t().numpy(), maximize=True)  # (M, N) as DeFCN
    return points, instances


def compare(head, instances: int, repeats: int, max_epochs: int) -> dict:
    """Interleaved timings of every candidate on one problem of ``instances`` boxes."""
    from dsla.models.task_modules.assigners import OneToOneAssigner, SoftLabelAssigner

    sla = head.sla_assigner
    sla_dense = SoftLabelAssigner(sla.num_soft_anchors, sla.t_max, sla.t_min, sla.center_radius,
                                  sla.poto_alpha, sparse=False)
    eq2 = OneToOneAssigner(sla.center_radius, sla.poto_alpha)
    eq2_dense = OneToOneAssigner(sla.center_radius, sla.poto_alpha, sparse=False)
    from dsla.models.task_modules.assigners import MinCostAssigner
    from dsla.models.task_modules.assigners.one_to_one_assigner import grid_layout
    onenet_dense, onenet_greedy = MinCostAssigner(restrict=True), MinCostAssigner(settle='greedy')

    pred, gt = crowd_problem(head, instances)
    levels = grid_layout(pred.priors)  # what the head passes (O2OHead.flatten_branch)
    quality = quality_matrix(sla, pred, gt)
    img_shape = (HEIGHT, WIDTH)
    same = all(torch.equal(a.gt_inds, b.gt_inds) for a, b in (
        (sla.assign(pred, gt, epoch=0, max_epochs=max_epochs, grid_levels=levels),
         sla_dense.assign(pred, gt, epoch=0, max_epochs=max_epochs)),
        (eq2.assign(pred, gt, grid_levels=levels), eq2_dense.assign(pred, gt))))
    timings = interleaved({
        "sla": lambda: sla.assign(pred, gt, epoch=0, max_epochs=max_epochs, grid_levels=levels),
        "o2o_eq2": lambda: eq2.assign(pred, gt, grid_levels=levels),
        "sla_dense": lambda: sla_dense.assign(pred, gt, epoch=0, max_epochs=max_epochs),
        "o2o_eq2_dense": lambda: eq2_dense.assign(pred, gt),
        "onenet": lambda: head.assigner.assign(pred, gt, img_shape=img_shape),
        "onenet_dense": lambda: onenet_dense.assign(pred, gt, img_shape=img_shape),
        "onenet_greedy": lambda: onenet_greedy.assign(pred, gt, img_shape=img_shape),
        "hungarian": lambda: hungarian(quality_matrix(sla, pred, gt)),
        "solver_only": lambda: hungarian(quality),
    }, repeats=repeats, warmup=1)
    totals = {name: float(-a.assign(pred, gt, img_shape=img_shape).max_overlaps.double().sum())
              for name, a in (("onenet", head.assigner), ("onenet_dense", onenet_dense),
                              ("onenet_greedy", onenet_greedy))}
    return dict(timings=timings, pairs=int((quality >= 0).sum()), points=len(pred.priors),
                same=same, unmatched=_unmatched(head, pred, gt, max_epochs), totals=totals)


def _unmatched(head, pred, gt, max_epochs) -> tuple:
    """Instances left without a certain anchor (SLA) / a positive (OneNet) on this problem."""
    from dsla.models.task_modules.assigners.one_to_one_assigner import CERTAIN, prior_pairs

    _, instance = prior_pairs(pred.priors, gt.bboxes, head.sla_assigner.center_radius)
    has_candidates = int((torch.bincount(instance, minlength=len(gt)) > 0).sum())
    sla = head.sla_assigner.assign(pred, gt, epoch=0, max_epochs=max_epochs)
    certain = int((sla.get_extra_property('point_role') == CERTAIN).sum())
    onenet = int((head.assigner.assign(pred, gt, img_shape=(HEIGHT, WIDTH)).gt_inds > 0).sum())
    return has_candidates - certain, len(gt) - onenet


def measure(quick: bool = False, instances: tuple = (100, 300)) -> Section:
    section = Section("3. Assignment: sparse assigners vs the dense reference and Hungarian matching",
                      f"python -m benchmarks.bench_assignment{' --quick' if quick else ''}")
    cfg = load_config("paper", "dsla")
    model = build_detector(cfg)
    head = model.bbox_head
    max_epochs = cfg.train_cfg.max_epochs
    results = {m: compare(head, m, 5 if quick else 15, max_epochs) for m in instances}
    rows = []
    for name, label in ROWS.items():
        cells = []
        for m in instances:
            t = results[m]["timings"][name]
            cells.append(f"{t.cpu_median * 1e3:.1f} ({spread([c * 1e3 for c in t.cpu])})")
        rows.append((label, *cells))
    section.table(("assignment (one image), ms CPU: median (IQR over rounds)",
                   *[f"M = {m}" for m in instances]), rows)
    ratio_rows = []
    for m in instances:
        t = results[m]["timings"]
        for num, den, what, goal in (("hungarian", "sla", "Hungarian / ours (SLA)", HUNGARIAN_GOAL),
                                     ("hungarian", "o2o_eq2", "Hungarian / ours (eq. 2 O2O)", None),
                                     ("sla_dense", "sla", "dense reference / sparse (SLA)", DENSE_GOAL),
                                     ("o2o_eq2_dense", "o2o_eq2", "dense reference / sparse (eq. 2 O2O)", None),
                                     ("hungarian", "onenet", "Hungarian / OneNet (MinCostAssigner)", None)):
            per_round = round_ratios(t[num], t[den])
            ratio = t[num].cpu_median / t[den].cpu_median
            ratio_rows.append((f"M = {m}", what, f"{ratio:.1f}x", spread(per_round),
                               f"{min(per_round):.1f}–{max(per_round):.1f}"))
            if goal is not None:
                section.goals.append(ratio_goal(f"{what}, {m} instances, CPU time", ratio, goal,
                                                at_most=False))
    section.table(("problem", "ratio", "median ratio", "per-round IQR", "per-round range"), ratio_rows)
    onenet_scale = (results[instances[-1]]["timings"]["onenet"].cpu_median
                    / results[instances[0]]["timings"]["onenet"].cpu_median)
    section.text(
        "Problem: " + ", ".join(
            f"{m} instances ({results[m]['pairs']:,} (point, instance) pairs inside Ω_j of "
            f"{results[m]['points'] * m:,}; sparse = dense assignments: "
            f"{'yes' if results[m]['same'] else 'NO'}; instances with candidates but no certain "
            f"anchor: {results[m]['unmatched'][0]}, without a OneNet positive: "
            f"{results[m]['unmatched'][1]})" for m in instances)
        + f" on {results[instances[0]]['points']:,} points (1333×800 padded to 1344×800, strides "
        f"{list(head.strides)}). OneNet's total matching cost ΣC_ij: "
        + ", ".join(f"{m} instances: Hungarian {results[m]['totals']['onenet']:.3f} ("
                    f"{results[m]['totals']['onenet_dense']:.3f} on the M cheapest points), "
                    f"greedy {results[m]['totals']['onenet_greedy']:.3f}"
                    for m in instances)
        + f". K = {head.sla_assigner.num_soft_anchors}, Ω_j radius "
        f"{head.sla_assigner.center_radius} strides.")

    height, width = (512, 512) if quick else (HEIGHT, WIDTH)
    batch = crowd_batch(1, height, width, instances[0], seed=0)
    step = train_step(model, cfg, batch)
    step_cpu = []
    for round_ in range(3):  # the first one warms up
        _, _, cpu = timed(step)
        if round_:
            step_cpu.append(cpu)
    step_s = statistics.median(step_cpu)
    t = results[instances[0]]["timings"]
    ours_ms = (t["onenet"].cpu_median + t["sla"].cpu_median) * 1e3
    share = ours_ms / 1e3 / step_s
    section.goals.append(ratio_goal(
        f"share of a DSLA ResNet-50 step (batch 1, {size_label(height, width)}, {instances[0]} "
        f"boxes): both assignments (OneNet O2O + SLA)", 100 * share, 100 * SHARE_GOAL, unit="%"))
    section.text(
        f"One DSLA ResNet-50 training step (batch 1, {size_label(height, width)}, {instances[0]} "
        f"boxes): {step_s:.2f} s CPU (median of {len(step_cpu)}); its two assignments take "
        f"{ours_ms:.1f} ms = {100 * share:.2f} % of it.")
    section.notes += [
        "sparse: each instance's candidate points are enumerated per FPN level from the grid the "
        "head passes (the rows and columns the centre square can reach, then the exact Ω_j "
        "test), so the SLA "
        "and eq. 2 assigners' time and memory grow with the candidate pairs (about 30 per "
        "instance), not with points × instances; the settlement of conflicts (deferred acceptance "
        "by S_ij) runs one vectorised round per displacement step",
        f"OneNet's matcher has no prior, so its cost is O(N·M) by definition: every point against "
        f"every instance (a focal-cost row gather, an L1 cdist and an area-ratio bound over the "
        f"N × M pairs; the GIoU only for the pairs the bound cannot rule out, exactly), chunked "
        f"over instances so memory stays O(N × {2 ** 21 // 22400} instances) for the greedy option; "
        f"the default builds the dense cost and runs Hungarian matching on it (SciPy's "
        f"linear_sum_assignment, as OneNet). "
        f"{instances[0]} → {instances[-1]} instances multiplied its time by {onenet_scale:.1f} "
        f"({instances[-1] / instances[0]:.0f}x the pairs). It is the baseline's and the O2O "
        f"subnet's assigner, so it runs every step; on the tiny profile (1,360 points × 22 "
        f"instances) it takes about 3 ms per image, mostly the fixed cost of a few dozen small "
        f"tensor operations, and on a GPU these are a few dense kernels",
        "the dense reference is the same code path with sparse=False (the (N, M) Ω_j mask and "
        "S_ij of the previous implementation, then the same settlement), so its ratio is what "
        "the sparse enumeration saves; the test tests/models/test_assigners.py checks both give "
        "identical assignments on random cases",
        "all on CPU, one thread. On a GPU the step and our (vectorised, torch) assignment both get "
        "much faster, while linear_sum_assignment stays on the CPU (DeFCN copies the matrix "
        "over), so the share of Hungarian matching would grow there",
        "predictions are random (boxes of about two strides around each point, scores around "
        "sigmoid(-2)), as early in training; no ignore regions",
    ]
    return section


def _options(parser) -> None:
    parser.add_argument("--instances", type=int, nargs="+", default=[100, 300],
                        help="instances per image (default 100 300)")


if __name__ == "__main__":
    cli(lambda quick=False, instances=(100, 300): measure(quick, tuple(instances)), __doc__, _options)
