from .soft_label_bce_loss import SoftLabelBCELoss

__all__ = ['SoftLabelBCELoss']
