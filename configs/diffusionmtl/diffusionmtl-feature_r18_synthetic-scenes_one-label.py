# DiffusionMTL (Feature Diffusion), ResNet-18 at width 128, on the embedded
# SyntheticScenes dataset (128x128, six tasks), one-label setting. Sized for CPU:
# no pretrained weights (nothing to download), width 128, a 20-epoch schedule.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/synthetic_scenes_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=9, human_parts=7, sal=2, normals=3, edge=1, depth=1),
    channels=128,
    backbone=dict(init_cfg=None),
)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=20, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=20, val_interval=5)
# Best checkpoint by semseg mIoU (any logged metric works, e.g.
# save_best='depth/rmse', rule='less').
default_hooks = dict(checkpoint=dict(interval=5, save_best='semseg/mIoU', rule='greater'))
