"""Evaluation: CrowdHuman AP, MR^-2, JI and Recall (official CrowdDet definitions, vectorised) as
functions, a CLI (``python -m dsla.evaluation.crowdhuman``) and the registered
``CrowdHumanEvalMetric``; COCO AP / AP50 / AP75 via pycocotools."""
from .coco import coco_ap
from .crowdhuman_eval import evaluate, evaluate_files
from .metric import CrowdHumanEvalMetric  # registers the metric in mmdet's METRICS

__all__ = ["CrowdHumanEvalMetric", "coco_ap", "evaluate", "evaluate_files"]
