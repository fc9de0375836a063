# Single-task baseline (semseg), ResNet-18, on PASCAL-Context (PASCAL_MT, 5 tasks), random-label setting.
# The dataset keeps only this task (split columns of the other tasks are
# dropped; images without its label weigh 0); evaluated on this task only.
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/pascal_context_mt_random_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(semseg=21))
train_dataloader = dict(dataset=dict(tasks=('semseg', )))
val_dataloader = dict(dataset=dict(tasks=('semseg', )))
test_dataloader = val_dataloader
val_evaluator = [dict(type='SemSegMetric', prefix='semseg', num_classes=21)]
test_evaluator = val_evaluator
# Best checkpoint by semseg mIoU (any logged metric works, e.g.
# save_best='depth/rmse', rule='less').
default_hooks = dict(checkpoint=dict(save_best='semseg/mIoU', rule='greater'))
