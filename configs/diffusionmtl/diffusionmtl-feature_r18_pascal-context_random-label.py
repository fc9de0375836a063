# DiffusionMTL (Feature Diffusion), ResNet-18, on PASCAL-Context (PASCAL_MT, 5 tasks), random-label setting.
# Published: the authors' released PASCAL code, reproduced number for number.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/pascal_context_mt_random_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
)
# Best checkpoint by semseg mIoU (any logged metric works, e.g.
# save_best='depth/rmse', rule='less').
default_hooks = dict(checkpoint=dict(save_best='semseg/mIoU', rule='greater'))
