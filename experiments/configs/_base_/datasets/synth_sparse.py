# Synthetic sparse multi-class preset (dsla.datasets.synthetic, `pipeline data synth --preset
# sparse`) read as COCO json: Images/<ID>.jpg, annotation_{train,val}.json. Same image size,
# pipelines and loaders as the crowd preset (inherited); only the dataset type, files, classes and
# metric differ. Classes are the generator's dsla.datasets.synthetic.SPARSE_CLASSES (written out:
# an import would turn this into a lazy-import config that plain configs cannot inherit from; a
# test keeps the two equal).
_base_ = './synth_crowd.py'

dataset_type = 'CheckedCocoDataset'
data_root = 'data/synth_sparse/'
metainfo = dict(classes=('person', 'circle', 'square', 'triangle', 'cross'))

train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotation_train.json', filter_cfg=dict(filter_empty_gt=False)))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotation_val.json'))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True, type='CocoMetric', ann_file=data_root + 'annotation_val.json', metric='bbox',
    backend_args=None)
test_evaluator = val_evaluator

model = dict(bbox_head=dict(num_classes=5))
