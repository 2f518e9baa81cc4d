# Smoke profile, dataset-independent part: the tiny model, two short epochs.
_base_ = ['../models/o2o_tiny.py', '../schedules/smoke.py', '../default_runtime.py']

default_hooks = dict(logger=dict(interval=1))

# The data layer of each dataset in this profile (experiments/compose.py; not part of the resolved config).
dataset_layers = dict(crowdhuman='../datasets/synth_crowd.py', coco='../datasets/synth_sparse.py')
