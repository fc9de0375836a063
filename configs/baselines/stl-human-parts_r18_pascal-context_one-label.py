# Single-task baseline (human_parts), ResNet-18, on PASCAL-Context (PASCAL_MT, 5 tasks), one-label setting.
# The dataset keeps only this task (split columns of the other tasks are
# dropped; images without its label weigh 0); evaluated on this task only.
_base_ = [
    '../_base_/models/mtl_baseline_r18.py',
    '../_base_/datasets/pascal_context_mt_one_label.py',
    '../_base_/schedules/schedule_100e_adam.py',
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    tasks=dict(human_parts=7))
train_dataloader = dict(dataset=dict(tasks=('human_parts', )))
val_dataloader = dict(dataset=dict(tasks=('human_parts', )))
test_dataloader = val_dataloader
val_evaluator = [dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7)]
test_evaluator = val_evaluator
