# Paper profile, dataset-independent part: ResNet-50 + FPN 256, 36 epochs of AdamW.
_base_ = ['../models/o2o_r50_fpn.py', '../schedules/paper_36e.py', '../default_runtime.py']

# The data layer of each dataset in this profile (experiments/compose.py; not part of the resolved config).
dataset_layers = dict(crowdhuman='../datasets/crowdhuman.py', coco='../datasets/coco.py')
