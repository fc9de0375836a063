# DiffusionMTL (Feature Diffusion), ResNet-18, on PASCAL-Context (PASCAL_MT, 5 tasks), one-label setting.
# Published: the authors' released PASCAL code, reproduced number for number.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/pascal_context_mt_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
)
# Best checkpoint by the multi-task gain (needs the evaluator's reference).
default_hooks = dict(checkpoint=dict(save_best='multi_task/delta_m', rule='greater'))
