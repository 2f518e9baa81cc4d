# The paper's schedule: AdamW, lr 1e-3 (CrowdHuman; COCO configs set 4e-4), 36 epochs, with
# OneNet's weight decay (1e-4), gradient clipping (max norm 1) and total batch 16
# (4 GPUs x 4 images, set in the paper configs). Validation every epoch gives Figure 4's curves.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=36, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=16)
