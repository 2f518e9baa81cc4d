# Real COCO 2017 in its standard layout:
#   data/coco/annotations/instances_{train,val}2017.json, data/coco/{train,val}2017/
# Paper scale (the paper gives none): mmdet's usual COCO recipe, train with the short side drawn
# from 480..800 (step 32) and the long side at most 1333, random flip; test at (1333, 800); empty
# images are skipped in training (mmdet's filter). NOT OneNet's recipe (PeizeSun/OneNet
# projects/OneNet/configs/onenet.fcos.res50.yaml, Base-OneNet.yaml): short side 640..896 (step
# 32), long side at most 1500, random crop (384..600 absolute) on, empty images kept; test
# (1333, 800). 4 images per GPU: 16 on the paper's 4 GPUs.
_base_ = './synth_sparse.py'

data_root = 'data/coco/'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(480, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    dataset=dict(
        _delete_=True, type='CheckedCocoDataset', data_root=data_root,
        ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    dataset=dict(
        _delete_=True, type='CheckedCocoDataset', data_root=data_root,
        ann_file='annotations/instances_val2017.json', data_prefix=dict(img='val2017/'),
        test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotations/instances_val2017.json', metric='bbox')
test_evaluator = val_evaluator

# 80 classes; the paper profile's COCO learning rate is 4e-4 (CrowdHuman: 1e-3, the schedule's).
model = dict(bbox_head=dict(num_classes=80))
optim_wrapper = dict(optimizer=dict(lr=4e-4))
