"""Evaluation noise: the standard deviation of AP / MR^-2 from the choice of validation images.

Bootstrap over images of one model's detections: draw n images with replacement from the
validation set, evaluate, repeat; the spread is what a validation set of n images adds to any
number measured on it (issue 11 sized the tiny profile's validation set with it).

    .venv/bin/python -m benchmarks.bench_eval_noise GT.odgt DETECTIONS.odgt --sizes 48,200,500 [--reps 200]

DETECTIONS is e.g. an evaluate stage's `work_dirs/<key>/detections.odgt`.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics


def bootstrap(gt: list[dict], detections: dict, size: int, reps: int, seed: int = 0) -> dict[str, float]:
    """Std of AP and MR^-2 (in %) over `reps` resamples of `size` images (IDs made unique per draw)."""
    from dsla.evaluation.crowdhuman_eval import evaluate_detections

    rng = random.Random(seed)
    aps, mrs = [], []
    for _ in range(reps):
        records, dets = [], {}
        for k in range(size):
            record = dict(gt[rng.randrange(len(gt))])
            source = record["ID"]
            record["ID"] = f"{source}#{k}"
            records.append(record)
            dets[record["ID"]] = detections[source]
        metrics = evaluate_detections(records, dets)
        aps.append(100 * metrics["AP"])
        mrs.append(100 * metrics["MR2"])
    return {"n": size, "AP_sd": statistics.stdev(aps), "MR2_sd": statistics.stdev(mrs), "reps": reps}


def main(argv=None) -> int:
    from dsla.datasets.odgt import load_odgt
    from dsla.evaluation.crowdhuman_eval import evaluate_detections
    from dsla.evaluation.detections import load_detections

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gt")
    parser.add_argument("detections")
    parser.add_argument("--sizes", default="48,100,200,300,500")
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    gt, detections = load_odgt(args.gt), load_detections(args.detections)
    full = evaluate_detections(gt, detections)
    print(json.dumps({"images": len(gt), **{k: round(100 * v, 2) for k, v in full.items()}}))
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in bootstrap(gt, detections, size, args.reps).items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
