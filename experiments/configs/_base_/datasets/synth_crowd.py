# Synthetic crowd preset (dsla.datasets.synthetic, `pipeline data synth --preset crowd`) in
# CrowdHuman's layout: Images/<ID>.jpg, annotation_{train,val}.odgt. Trained on full-body boxes;
# mask / extra.ignore boxes are ignore regions. Images are 256x256 (the generator's default), read
# at that size; the loaders run in the main process (num_workers=0): decoding a 256 px JPEG takes
# about a millisecond, less than starting worker processes costs on 2 cores.
custom_imports = dict(imports=['dsla'], allow_failed_imports=False)

dataset_type = 'CrowdHumanOdgtDataset'
data_root = 'data/synth_crowd/'
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_train.odgt',
        data_prefix=dict(img='Images/'),
        pipeline=train_pipeline,
        backend_args=backend_args))
# Validation in batches of 8 (training: 4): every image is 256x256, so a batch pads nothing, and
# the predictions are bit for bit those of batches of 4 (any batch of 2-15 images gives the same
# bits; 16 and more do not: PyTorch's 1x1 convs switch to oneDNN at 16 on one thread; 1 does
# not either). 5 % less CPU per validation (reports/benchmarks.md §11c;
# tests/models/test_exactness.py checks the bits).
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotation_val.odgt',
        data_prefix=dict(img='Images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='CrowdHumanEvalMetric', ann_file=data_root + 'annotation_val.odgt')
test_evaluator = val_evaluator

# What the model takes from the data: one class; at most 100 detections per image.
model = dict(bbox_head=dict(num_classes=1), test_cfg=dict(max_per_img=100))
