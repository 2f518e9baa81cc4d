"""``CrowdHumanEvalMetric``: the CrowdHuman evaluation as an mmengine metric for validation loops.

Config::

    val_evaluator = dict(type='CrowdHumanEvalMetric', ann_file=data_root + 'annotation_val.odgt')

logs ``crowdhuman/AP``, ``crowdhuman/MR2``, ``crowdhuman/JI`` and ``crowdhuman/Recall`` (fractions)
after every validation, computed by :mod:`dsla.evaluation.crowdhuman`.

Differences from mmdet's ``CrowdHumanMetric``: ground truth is looked up in ``ann_file`` by image
ID (mmdet pairs annotation lines and predictions by position and needs an unshuffled loader);
the images evaluated are the ones predicted (a subset of ``ann_file`` is evaluated on its own, the
others are not counted as misses); JI uses maximum-weight matching as the official toolkit;
Recall is reported; values are not rounded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from dsla.datasets.odgt import load_odgt

from .crowdhuman_eval import evaluate_detections
from .detections import DetectionFormatError, ImageDetections, check_detections, detection_record, write_odgt


@METRICS.register_module()
class CrowdHumanEvalMetric(BaseMetric):
    """AP, MR^-2, JI and Recall on CrowdHuman-style data (official CrowdDet definitions).

    Args:
        ann_file: ground-truth ``.odgt``; images are matched to predictions by ``img_id``.
        outfile_prefix: if given, the detections are also written to ``{prefix}.odgt``
            (``python -m dsla.evaluation.crowdhuman`` reads that file).
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.

    ``process`` keeps per image only plain picklable data (ID, size, numpy boxes and scores), so
    distributed result collection works. Boxes must be in original image pixels (mmdet's
    ``pred_instances`` after rescaling), ``ori_shape`` gives the size used to clip them.
    """

    default_prefix: str | None = "crowdhuman"

    def __init__(self, ann_file: str, outfile_prefix: str | None = None,
                 collect_device: str = "cpu", prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = str(ann_file)
        self.outfile_prefix = outfile_prefix
        self._gt_records: list[dict] | None = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's ID, original size and predicted boxes / scores."""
        for sample in data_samples:
            pred = sample["pred_instances"]
            height, width = sample["ori_shape"][:2]
            self.results.append({
                "img_id": str(sample["img_id"]),
                "width": int(width),
                "height": int(height),
                "bboxes": pred["bboxes"].detach().cpu().numpy().astype(np.float64).reshape(-1, 4),
                "scores": pred["scores"].detach().cpu().numpy().astype(np.float64).reshape(-1),
            })

    def _ground_truth(self) -> list[dict]:
        if self._gt_records is None:
            self._gt_records = load_odgt(self.ann_file)
        return self._gt_records

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Evaluate the collected predictions against ``ann_file``."""
        detections: dict[str, ImageDetections] = {}
        for result in results:
            where = f"prediction for image {result['img_id']!r}"
            if result["img_id"] in detections:
                raise DetectionFormatError(f"{where}: image predicted twice")
            check_detections(result["bboxes"], result["scores"], where)
            detections[result["img_id"]] = ImageDetections(
                result["bboxes"], result["scores"], result["width"], result["height"], where)

        gt_records = self._ground_truth()
        evaluated = [record for record in gt_records if record["ID"] in detections]
        if len(evaluated) < len(gt_records):
            MMLogger.get_current_instance().info(
                f"CrowdHumanEvalMetric: evaluating the {len(evaluated)} predicted images of the "
                f"{len(gt_records)} in {self.ann_file}")
        if self.outfile_prefix is not None:
            path = write_odgt(Path(f"{self.outfile_prefix}.odgt"), (
                detection_record(r["img_id"], r["bboxes"], r["scores"], r["width"], r["height"])
                for r in results))
            MMLogger.get_current_instance().info(f"CrowdHumanEvalMetric: detections in {path}")
        return evaluate_detections(evaluated, detections, self.ann_file)
