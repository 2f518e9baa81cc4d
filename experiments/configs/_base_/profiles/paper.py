# Paper profile, dataset-independent part: ResNet-50 + FPN 256, 36 epochs of AdamW.
_base_ = ['../models/o2o_r50_fpn.py', '../schedules/paper_36e.py', '../default_runtime.py']
