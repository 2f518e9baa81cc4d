# Baseline (one-to-one FCN head, no NMS), paper profile, CrowdHuman-style data (real CrowdHuman).
_base_ = ['../_base_/profiles/paper.py', '../_base_/datasets/crowdhuman.py']

model = dict(bbox_head=dict(num_classes=1), test_cfg=dict(max_per_img=500))
