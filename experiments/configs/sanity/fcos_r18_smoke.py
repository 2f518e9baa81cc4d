# Environment check: a stock mmdet FCOS (ResNet-18 at a quarter width + FPN) that trains one
# step and predicts on CPU. It exercises mmcv's compiled ops, mmdet's registries and the
# project's plugin import; it is not part of any table.
custom_imports = dict(imports=['dsla'], allow_failed_imports=False)

model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet', depth=18, base_channels=16, num_stages=4, out_indices=(1, 2, 3),
        frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        style='pytorch', init_cfg=None),
    neck=dict(
        type='FPN', in_channels=[32, 64, 128], out_channels=64, start_level=0,
        add_extra_convs='on_output', num_outs=4, relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead', num_classes=1, in_channels=64, stacked_convs=2, feat_channels=64,
        strides=[8, 16, 32, 64],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8)), norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(
        nms_pre=200, min_bbox_size=0, score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
