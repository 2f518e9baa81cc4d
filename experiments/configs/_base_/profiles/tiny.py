# Tiny profile, dataset-independent part: the CPU-scale model and schedule.
_base_ = ['../models/o2o_tiny.py', '../schedules/tiny.py', '../default_runtime.py']

default_hooks = dict(logger=dict(interval=20))

# The data layer of each dataset in this profile (experiments/compose.py; not part of the resolved config).
dataset_layers = dict(crowdhuman='../datasets/synth_crowd.py', coco='../datasets/synth_sparse.py')
