"""Datasets: CrowdHuman odgt reading, the synthetic crowd generator, Table 1 density statistics."""
from . import odgt  # noqa: F401
