# Single-task baseline (normals), ResNet-18, on NYUD-v2, partial-label protocol (13 classes, depth, normals, 288x384), one-label setting.
# The dataset keeps only this task (split columns of the other tasks are
# dropped; images without its label weigh 0); evaluated on this task only.
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/nyud_v2_partial_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(normals=3))
train_dataloader = dict(dataset=dict(tasks=('normals', )))
val_dataloader = dict(dataset=dict(tasks=('normals', )))
test_dataloader = val_dataloader
val_evaluator = [dict(type='NormalsMetric', prefix='normals')]
test_evaluator = val_evaluator
