# Cityscapes (MTAN 7-class + depth), random-label setting. With two tasks the
# published one-label file is also the random-label one (every non-empty,
# non-full subset of 2 tasks has one task), so both settings read it.
_base_ = ['./cityscapes_partial.py']
split_root = 'data/partial_label_splits'
train_batch_size = 8
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='PartialLabelSampler'),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),
    dataset=dict(
        label_setting='random_label',
        split_file=f'{split_root}/cityscapes/onelabel.pth'))
# Delta_m against the published single-task baselines (method.md).
val_evaluator = dict(reference='cityscapes')
test_evaluator = dict(reference='cityscapes')
