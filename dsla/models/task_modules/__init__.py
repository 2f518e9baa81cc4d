from .assigners import OneToOneAssigner, SoftLabelAssigner

__all__ = ['OneToOneAssigner', 'SoftLabelAssigner']
