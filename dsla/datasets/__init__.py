"""Datasets: CrowdHuman odgt reading, the synthetic crowd generator, Table 1 density statistics,
and the registered mmdet datasets ``CrowdHumanOdgtDataset`` and ``CheckedCocoDataset``."""
from . import coco_format, density, drawing, odgt, synthetic, visualize  # noqa: F401
from .coco_dataset import CheckedCocoDataset  # noqa: F401  (registers the dataset)
from .crowdhuman_dataset import CrowdHumanOdgtDataset  # noqa: F401  (registers the dataset)
