# Synthetic sparse multi-class preset (dsla.datasets.synthetic, `pipeline data synth --preset
# sparse`) read as COCO json: Images/<ID>.jpg, annotation_{train,val}.json. Classes are the
# generator's dsla.datasets.synthetic.SPARSE_CLASSES (written out: an import would turn this into
# a lazy-import config that plain configs cannot inherit from; a test keeps the two equal).
# 256x256 images read at that size; loaders in the main process.
custom_imports = dict(imports=['dsla'], allow_failed_imports=False)

dataset_type = 'CheckedCocoDataset'
data_root = 'data/synth_sparse/'
backend_args = None
metainfo = dict(classes=('person', 'circle', 'square', 'triangle', 'cross'))

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
        metainfo=metainfo,
        ann_file='annotation_train.json',
        data_prefix=dict(img='Images/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotation_val.json',
        data_prefix=dict(img='Images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotation_val.json', metric='bbox',
    backend_args=backend_args)
test_evaluator = val_evaluator
