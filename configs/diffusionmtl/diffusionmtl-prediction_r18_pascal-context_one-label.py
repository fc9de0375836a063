# DiffusionMTL (Prediction Diffusion), ResNet-18, on PASCAL-Context (PASCAL_MT, 5 tasks), one-label setting.
# Unpublished: the paper describes Prediction Diffusion but released no code; the
# encoding (P_t -> per-task Conv3x3 to 512 channels, diffused like F_t) is ours.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/pascal_context_mt_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
    refine_head=dict(diffuse='prediction'),
)
# Best checkpoint by the multi-task gain (needs the evaluator's reference).
default_hooks = dict(checkpoint=dict(save_best='multi_task/delta_m', rule='greater'))
