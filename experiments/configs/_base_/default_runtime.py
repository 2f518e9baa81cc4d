# Runtime shared by every profile. No tracking server is needed: logs and scalars go to the
# work dir (LocalVisBackend); the pipeline adds its MLflow backend itself.
# (custom_imports = dict(imports=['dsla']) comes with the dataset bases: mmengine refuses a key
# defined in two bases of one config.)
default_scope = 'mmdet'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # a checkpoint every epoch (the last kept) so an interrupted run resumes where it stopped
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
# no fixed name: each Runner then gets a visualizer (and vis_data dir) of its own
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
