# Tiny profile, dataset-independent part: the CPU-scale model and schedule.
_base_ = ['../models/o2o_tiny.py', '../schedules/tiny.py', '../default_runtime.py']

default_hooks = dict(logger=dict(interval=20))
