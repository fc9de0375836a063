# The `make demo` experiment (tools/run_demo.py): DiffusionMTL (Feature Diffusion) on
# the generated SyntheticScenes (128x128, six tasks), one-label setting (each training
# image has exactly one labelled task), trained from scratch on 2 CPU cores in about
# ten minutes. Same network as the paper's (ResNet-18 -> stride-8 fuse -> initial heads
# -> multi-task conditioning -> 2-step feature diffusion), narrower: ResNet-18 at a
# quarter width and 32 channels instead of 512, 600 iterations of batch 8. Train it
# yourself with
#   python tools/train.py configs/diffusionmtl/demo_diffusionmtl-feature_synthetic_one-label.py
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/synthetic_scenes_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]

data_root = 'data/synthetic_scenes_demo'
generate = dict(num_train=480, num_val=64, size=(128, 128), seed=0)
max_iters = 600
batch_size = 8

model = dict(
    # the dataset's normalisation; _delete_ replaces whatever the model base has
    data_preprocessor=dict(
        _delete_=True,
        type='MultiTaskDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    tasks=dict(semseg=9, human_parts=7, sal=2, normals=3, edge=1,
               depth=1),
    channels=32,
    # ResNet-18 at a quarter of its width (16/32/64/128 channels), from scratch:
    # nothing to download, and fast enough for a CPU
    backbone=dict(base_channels=16, stem_channels=16, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128]),
    refine_head=dict(num_heads=2),
)

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(infinite=True),  # no loader restarts
    dataset=dict(data_root=data_root, generate=generate))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-3, weight_decay=1e-6),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=50,
         end=max_iters),
]
# Validation is run by tools/run_demo.py after training (trained vs untrained).
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=300, max_keep_ckpts=1,
        save_last=True, save_best='semseg/mIoU', rule='greater'))
randomness = dict(seed=0)
# Every task's metric (docs/evaluation.md); a list, so MMEngine builds its Evaluator.
# Edge: the BSDS matching with 9 thresholds instead of the benchmark's 99 (the
# matching costs ~20 ms per image and threshold on a CPU); the dataset configs' val
# setting.
test_evaluator = [
    dict(type='SemSegMetric', prefix='semseg', num_classes=9),
    dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
    dict(type='SaliencyMetric', prefix='sal'),
    dict(type='NormalsMetric', prefix='normals'),
    dict(type='EdgeMetric', prefix='edge', max_dist=0.0075, thresholds=9),
    dict(type='DepthMetric', prefix='depth'),
]
val_evaluator = test_evaluator
