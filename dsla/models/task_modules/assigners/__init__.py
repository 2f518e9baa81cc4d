from .min_cost_assigner import MinCostAssigner
from .one_to_one_assigner import OneToOneAssigner
from .soft_label_assigner import SoftLabelAssigner

__all__ = ['MinCostAssigner', 'OneToOneAssigner', 'SoftLabelAssigner']
