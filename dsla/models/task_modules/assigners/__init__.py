from .one_to_one_assigner import OneToOneAssigner
from .soft_label_assigner import SoftLabelAssigner

__all__ = ['OneToOneAssigner', 'SoftLabelAssigner']
