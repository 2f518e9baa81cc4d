"""CrowdHuman evaluation, public API and command line.

    python -m dsla.evaluation.crowdhuman annotation_val.odgt detections.odgt
    {"AP": 0.9012, "MR2": 0.4511, "JI": 0.8012, "Recall": 0.9734}    # fractions in [0, 1]

``evaluate(gt_records, dt_records)`` and ``evaluate_files(gt_odgt, dt_odgt)`` return
``{"AP", "MR2", "JI", "Recall"}``. Definitions, edge cases and the differences from mmdet's
``CrowdHumanMetric`` are documented in :mod:`dsla.evaluation.crowdhuman_eval`, which implements
them (kept apart so that running this module with ``-m`` does not import it twice). Bad input
exits with code 2 and a message naming the file and line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from dsla.datasets.odgt import OdgtFormatError

from .crowdhuman_eval import evaluate, evaluate_detections, evaluate_files
from .detections import DetectionFormatError

__all__ = ["evaluate", "evaluate_detections", "evaluate_files", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dsla.evaluation.crowdhuman",
        description="CrowdHuman AP, MR^-2, JI and Recall (official CrowdDet definitions); "
                    "prints one JSON object with fractions in [0, 1].")
    parser.add_argument("gt", type=Path, help="ground-truth .odgt (e.g. annotation_val.odgt)")
    parser.add_argument("dt", type=Path, help="detections .odgt: ID, width, height, dtboxes")
    args = parser.parse_args(argv)
    try:
        result = evaluate_files(args.gt, args.dt)
    except (OdgtFormatError, DetectionFormatError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
