# Baseline (one-to-one FCN head, no NMS), tiny profile, COCO-style data (synthetic sparse preset,
# 5 classes).
_base_ = ['../_base_/profiles/tiny.py', '../_base_/datasets/synth_sparse.py']

model = dict(bbox_head=dict(num_classes=5), test_cfg=dict(max_per_img=100))
