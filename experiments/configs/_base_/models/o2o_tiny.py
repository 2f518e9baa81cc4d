# The baseline at CPU scale (smoke and tiny profiles): ResNet-18 at a quarter width, from
# scratch; FPN 64 channels, levels P3-P6; a head with two 64-channel convs per tower.
_base_ = './o2o_r50_fpn.py'

model = dict(
    backbone=dict(
        depth=18, base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128], out_channels=64, num_outs=4),
    bbox_head=dict(
        in_channels=64, feat_channels=64, stacked_convs=2, strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

# S = 16 of 64 channels: the paper profile's quarter of the channels.
feature_shuffle = dict(type='FeatureShuffle', shuffle_channels=16, in_channels=64)
