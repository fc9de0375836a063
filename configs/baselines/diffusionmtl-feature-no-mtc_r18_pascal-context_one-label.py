# Ablation: w/o Multi-Task Conditioning (the denoiser is conditioned on
# the neck feature, i.e. the image only); ResNet-18, PASCAL-Context, one-label setting.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/pascal_context_mt_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
    conditioner=None,
)
# Best checkpoint by the multi-task gain (needs the evaluator's reference).
default_hooks = dict(checkpoint=dict(save_best='multi_task/delta_m', rule='greater'))
