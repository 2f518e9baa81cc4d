from .dsla_head import DSLAHead
from .o2o_head import O2OHead

__all__ = ['O2OHead', 'DSLAHead']
