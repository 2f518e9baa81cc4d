"""Speed of our CrowdHuman evaluation against mmdet's ``CrowdHumanMetric``, same inputs, one run.

    .venv/bin/python benchmarks/bench_eval_speed.py [--images 4370] [--seed 0]

Builds a CrowdHuman-val-sized random crowd (default 4,370 images, ~23 ground-truth boxes and
~100 detections per image, ~1 ignore region per image; see ``dsla.evaluation.random_crowd``),
writes ``gt.odgt`` and ``dt.odgt`` into a temporary directory, feeds the same ``data_samples``
(float32 tensors, as a detector returns them) to both metrics' ``process`` and times their
``compute_metrics`` (each reads ``ann_file`` itself; ours keeps the validated ground truth for
later epochs, so it is timed twice). Also times ``evaluate_files`` on the odgt files (JSON
parsing included). Prints the results, their differences and the time ratios (goal: >= 10x).
Wall-clock times: run it on an otherwise idle machine.

mmdet's numbers are rounded by mmdet to 4 decimals; it has no Recall, and its JI uses
maximum-cardinality matching where the official toolkit (and ours) uses maximum weight.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dsla.evaluation import CrowdHumanEvalMetric, evaluate_files
from dsla.evaluation.detections import write_odgt
from dsla.evaluation.random_crowd import as_data_samples, random_crowd_records


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4370)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mmdet-ji-processes", type=int, default=10,
                        help="mmdet CrowdHumanMetric num_ji_process (its default: 10)")
    args = parser.parse_args()

    from mmdet.evaluation.metrics import CrowdHumanMetric

    gt_records, dt_records = random_crowd_records(args.images, seed=args.seed)
    samples = as_data_samples(dt_records)
    num_gt = sum(len(r["gtboxes"]) for r in gt_records)
    num_dt = sum(len(r["dtboxes"]) for r in dt_records)
    print(f"{args.images} images, {num_gt / args.images:.1f} ground-truth boxes and "
          f"{num_dt / args.images:.1f} detections per image (seed {args.seed})")

    with tempfile.TemporaryDirectory() as tmp:
        warm_gt, warm_dt = random_crowd_records(2, seed=1)  # warm-up: lazy imports and caches
        evaluate_files(write_odgt(Path(tmp) / "warm_gt.odgt", warm_gt),
                       write_odgt(Path(tmp) / "warm_dt.odgt", warm_dt))
        gt_path = write_odgt(Path(tmp) / "gt.odgt", gt_records)
        dt_path = write_odgt(Path(tmp) / "dt.odgt", dt_records)
        ours = CrowdHumanEvalMetric(ann_file=str(gt_path))
        theirs = CrowdHumanMetric(ann_file=str(gt_path), metric=["AP", "MR", "JI"],
                                  num_ji_process=args.mmdet_ji_processes)
        ours.process({}, samples)
        theirs.process({}, samples)
        ours_result, ours_time = timed(lambda: ours.compute_metrics(ours.results))
        _, ours_again_time = timed(lambda: ours.compute_metrics(ours.results))
        files_result, files_time = timed(lambda: evaluate_files(gt_path, dt_path))
        theirs_result, theirs_time = timed(lambda: theirs.compute_metrics(theirs.results))

    mmdet = {"AP": theirs_result["mAP"], "MR2": theirs_result["mMR"], "JI": theirs_result["JI"]}
    print(f"{'':40s}{'AP':>8s}{'MR2':>8s}{'JI':>8s}{'Recall':>8s}{'seconds':>9s}")
    rows = [("ours, metric, 1st epoch (reads ann_file)", ours_result, ours_time),
            ("ours, metric, later epochs (cached GT)", ours_result, ours_again_time),
            ("ours, evaluate_files (parses both odgt)", files_result, files_time),
            ("mmdet CrowdHumanMetric", mmdet, theirs_time)]
    for name, result, seconds in rows:
        cells = "".join(f"{result[k]:8.4f}" if k in result else f"{'-':>8s}"
                        for k in ("AP", "MR2", "JI", "Recall"))
        print(f"{name:40s}{cells}{seconds:9.2f}")
    print("ours - mmdet: " + ", ".join(f"{k} {ours_result[k] - mmdet[k]:+.5f}" for k in mmdet)
          + "; ours - evaluate_files: " + ", ".join(
              f"{k} {ours_result[k] - files_result[k]:+.1e}" for k in files_result))
    print(f"speed-up, metric vs metric: {theirs_time / ours_time:.1f}x (1st epoch, both read "
          f"ann_file); later epochs (our ground truth cached): {theirs_time / ours_again_time:.1f}x;"
          f" evaluate_files (parses both odgt) vs mmdet metric: {theirs_time / files_time:.1f}x")


if __name__ == "__main__":
    main()
