# + DSLA + Feature Shuffle.
_base_ = ['./fs_crowdhuman.py', '../_base_/variants/dsla.py']

model = dict(bbox_head={{_base_.dsla_head}})
