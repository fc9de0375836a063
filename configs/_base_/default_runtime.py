# Runtime shared by every mmdmtl experiment.
default_scope = 'mmdmtl'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='MultiTaskVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook with atomic writes (a killed save never leaves a half file).
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2000,
                    max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='MultiTaskVisualizationHook', draw=False),
)

# Reliability (docs/failure_modes.md): check that dataset, model and config agree
# before the first iteration; stop at the first NaN/inf loss naming the task;
# refuse checkpoints of another model; resume with the same random streams.
# A task the training split deliberately never labels: zero_shot_tasks = ['edge'].
custom_hooks = [
    dict(type='TrainCheckHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='CheckpointCheckHook'),
    dict(type='ExactResumeHook'),
]
