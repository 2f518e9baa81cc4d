"""Evaluation: CrowdHuman AP, MR^-2, JI and Recall (official CrowdDet definitions, vectorised) as
functions, a CLI and the registered ``CrowdHumanEvalMetric``; COCO AP via pycocotools."""
from . import coco, crowdhuman, metric  # noqa: F401  (metric registers CrowdHumanEvalMetric)
from .coco import coco_ap
from .crowdhuman import evaluate, evaluate_files
from .metric import CrowdHumanEvalMetric

__all__ = ["CrowdHumanEvalMetric", "coco_ap", "evaluate", "evaluate_files"]
