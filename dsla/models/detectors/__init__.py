from .end_to_end_detector import EndToEndDetector

__all__ = ['EndToEndDetector']
