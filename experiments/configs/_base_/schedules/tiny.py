# CPU-scale schedule (tiny profile): the paper's optimiser (AdamW, weight decay 1e-4, gradient
# clipping) over a few epochs of the synthetic presets, validating after every epoch.
_base_ = './paper_36e.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[7], gamma=0.1)
]
train_cfg = dict(max_epochs=8)
