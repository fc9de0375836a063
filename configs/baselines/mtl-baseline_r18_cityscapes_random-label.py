# MTL baseline (shared backbone + initial heads only), ResNet-18, on Cityscapes, partial-label protocol (7 classes + depth, 128x256), random-label setting.
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/cityscapes_partial_random_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=7, depth=1),
    # no published DiffusionMTL weights here: equal weights (MTPSL protocol)
    loss_weights=dict(semseg=1.0, depth=1.0),
)
# Best checkpoint by the multi-task gain (needs the evaluator's reference).
default_hooks = dict(checkpoint=dict(save_best='multi_task/delta_m', rule='greater'))
