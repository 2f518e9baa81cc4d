# The paper's baseline, OneNet (one-to-one FCN head, no NMS), at the paper's scale: ResNet-50
# from a local ImageNet checkpoint, FPN 256 channels, levels P3-P7. OneNet's matching (minimum
# 2·focal + 5·L1 + 2·(-GIoU) cost over all points) and its losses with the same weights.
# The eq. 2 matching inside the centre region is the option assigner=dict(type='OneToOneAssigner').
# Set model.backbone.init_cfg=None to train from scratch (the log then says so).
model = dict(
    type='EndToEndDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(1, 2, 3), frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch',
        # torchvision's ImageNet ResNet-50 state dict has the keys mmdet's ResNet expects
        init_cfg=dict(type='Pretrained', checkpoint='data/pretrained/resnet50_imagenet.pth')),
    neck=dict(
        type='FPN', in_channels=[512, 1024, 2048], out_channels=256, start_level=0,
        add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(
        type='O2OHead', num_classes=1, in_channels=256, feat_channels=256, stacked_convs=4,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        assigner=dict(type='MinCostAssigner', class_weight=2.0, l1_weight=5.0, giou_weight=2.0,
                      alpha=0.25, gamma=2.0),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=2.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_l1=dict(type='L1Loss', loss_weight=5.0)),
    test_cfg=dict(max_per_img=100))

# Used by the +FS variants (neck=[FPN, FeatureShuffle]): S = 64 of 256 channels, as DDQ FCN.
feature_shuffle = dict(type='FeatureShuffle', shuffle_channels=64, in_channels=256)
