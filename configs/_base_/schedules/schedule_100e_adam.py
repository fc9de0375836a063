# Official DiffusionMTL schedule: Adam lr 2e-5, weight decay 1e-6, poly(0.9) decay over
# 100 epochs, gradient-norm clip 10 (batch 6 on one GPU: set by the experiment config,
# since the dataset config owns train_dataloader).
_base_ = ['../default_runtime.py']
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-5, weight_decay=1e-6),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=100,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=True,
        interval=10,
        max_keep_ckpts=2,
        save_last=True))
