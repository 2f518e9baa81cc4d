from .assigners import MinCostAssigner, OneToOneAssigner, SoftLabelAssigner

__all__ = ['MinCostAssigner', 'OneToOneAssigner', 'SoftLabelAssigner']
