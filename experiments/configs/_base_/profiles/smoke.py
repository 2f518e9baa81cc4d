# Smoke profile, dataset-independent part: the tiny model, two short epochs.
_base_ = ['../models/o2o_tiny.py', '../schedules/smoke.py', '../default_runtime.py']

default_hooks = dict(logger=dict(interval=1))
