# PASCAL-Context, one-label setting (published split: one task per image).
_base_ = ['./pascal_context_mt.py']
split_root = 'data/partial_label_splits'
train_batch_size = 6
train_dataloader = dict(
    batch_size=train_batch_size,
    # Every batch holds a label of every task (batches of batch_size).
    sampler=dict(type='PartialLabelSampler'),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),
    dataset=dict(
        label_setting='one_label',
        split_file=f'{split_root}/pascal_context/onelabel.npy'))
# Delta_m against the published single-task one-label baselines (method.md).
val_evaluator = dict(reference='pascal_context_one_label')
test_evaluator = dict(reference='pascal_context_one_label')
