# Baseline (one-to-one FCN head, no NMS), tiny profile, CrowdHuman-style data (synthetic
# crowd preset).
_base_ = ['../_base_/profiles/tiny.py', '../_base_/datasets/synth_crowd.py']

model = dict(bbox_head=dict(num_classes=1), test_cfg=dict(max_per_img=100))
