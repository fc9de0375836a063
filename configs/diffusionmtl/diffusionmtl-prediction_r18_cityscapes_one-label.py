# DiffusionMTL (Prediction Diffusion), ResNet-18, on Cityscapes, partial-label protocol (7 classes + depth, 128x256), one-label setting.
# Unpublished: the paper describes Prediction Diffusion but released no code; the
# encoding (P_t -> per-task Conv3x3 to 512 channels, diffused like F_t) is ours.
# Unpublished: DiffusionMTL released no NYUD-v2/Cityscapes recipe; the network is
# the PASCAL one, data/schedule/loss weights follow the MTPSL protocol (ours).
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/cityscapes_partial_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=7, depth=1),
    # no published DiffusionMTL weights here: equal weights (MTPSL protocol)
    loss_weights=dict(semseg=1.0, depth=1.0),
    refine_head=dict(diffuse='prediction'),
)
# Best checkpoint by the multi-task gain (needs the evaluator's reference).
default_hooks = dict(checkpoint=dict(save_best='multi_task/delta_m', rule='greater'))
