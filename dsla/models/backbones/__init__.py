"""Backbones of the CPU-scale profiles (the paper profile uses mmdet's ResNet)."""
from .mobilenet_v2 import MobileNetV2Features, backbone_weights

__all__ = ['MobileNetV2Features', 'backbone_weights']
