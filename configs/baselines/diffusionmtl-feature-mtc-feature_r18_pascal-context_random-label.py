# Ablation: MTC on the initial features (the paper figure) instead of
# the initial predictions (the released code); ResNet-18, PASCAL-Context, random-label setting.
_base_ = [
    '../_base_/models/diffusionmtl_r18.py',
    '../_base_/datasets/pascal_context_mt_random_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
    conditioner=dict(source='feature'),
)
# Best checkpoint by semseg mIoU (any logged metric works, e.g.
# save_best='depth/rmse', rule='less').
default_hooks = dict(checkpoint=dict(save_best='semseg/mIoU', rule='greater'))
