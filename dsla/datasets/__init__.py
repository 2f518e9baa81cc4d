"""Datasets: CrowdHuman odgt reading, the synthetic crowd generator, Table 1 density statistics."""
from . import coco_format, density, figures, odgt, synthetic, visualize  # noqa: F401
