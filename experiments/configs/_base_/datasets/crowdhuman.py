# Real CrowdHuman as users keep it on disk:
#   data/CrowdHuman/Images/<ID>.jpg, annotation_train.odgt, annotation_val.odgt
#   (optional: mmdet's image-size caches id_hw_train.json / id_hw_val.json; else image headers).
# Paper scale (the paper gives none): O2F's CrowdHuman scale (strongwolf/o2f
# configs/crowdhuman.py), train with the short side drawn from 480..960 (step 32 here; a
# continuous range in O2F) and the long side at most 1400, random flip; test at (1400, 800).
# NOT OneNet's (PeizeSun/OneNet projects/OneNet/configs/onenet.*.res50.crowdhuman.yaml): short
# side 640..896 (step 32), long side at most 1400, no crop; test (1400, 800). Trained on
# full-body boxes (fbox); mask / extra.ignore boxes are ignore regions. 4 images per GPU: 16 on
# the paper's 4 GPUs, as OneNet's batch.
_base_ = './synth_crowd.py'

data_root = 'data/CrowdHuman/'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1400, s) for s in range(480, 961, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1400, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='CrowdHumanEvalMetric', ann_file=data_root + 'annotation_val.odgt')
test_evaluator = val_evaluator

# Real crowds: up to 500 detections per image (one class, from the crowd preset).
model = dict(test_cfg=dict(max_per_img=500))
