# Seconds-long schedule for tests: two epochs (so the soft-label schedule moves) on a handful
# of images.
_base_ = './tiny.py'

param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)]
train_cfg = dict(max_epochs=2)
