# PASCAL-Context, random-label setting (published split: 1-4 tasks per image).
_base_ = ['./pascal_context_mt.py']
split_root = 'data/partial_label_splits'
train_batch_size = 6
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='PartialLabelSampler'),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),
    dataset=dict(
        label_setting='random_label',
        split_file=f'{split_root}/pascal_context/randomlabels.npy'))
# No published random-label single-task numbers: give your own STL run's
# metrics as val_evaluator = dict(reference=dict(...)) in the experiment config
# (keys like "semseg/mIoU"; see docs/evaluation.md).
