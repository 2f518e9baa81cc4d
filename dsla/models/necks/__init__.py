from .feature_shuffle import FeatureShuffle

__all__ = ['FeatureShuffle']
