# Baseline (one-to-one FCN head, no NMS), paper profile, real COCO: 80 classes, lr 4e-4.
_base_ = ['../_base_/profiles/paper.py', '../_base_/datasets/coco.py']

model = dict(bbox_head=dict(num_classes=80), test_cfg=dict(max_per_img=100))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
