# + DSLA: the training-only SLA subnet beside the one-to-one subnet.
_base_ = ['./baseline_coco.py', '../_base_/variants/dsla.py']

model = dict(bbox_head={{_base_.dsla_head}})
