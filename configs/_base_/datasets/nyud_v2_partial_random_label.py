# NYUD-v2 (13-class partial-label protocol), random-label setting (published
# MTPSL split file; columns semseg, depth, normals; rows = image order).
_base_ = ['./nyud_v2_partial.py']
split_root = 'data/partial_label_splits'
train_batch_size = 4
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='PartialLabelSampler'),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),
    dataset=dict(
        label_setting='random_label',
        split_file=f'{split_root}/nyuv2/randomlabels.pth'))
# Delta_m against the published single-task random-label baselines (method.md).
val_evaluator = dict(reference='nyud_v2_random_label')
test_evaluator = dict(reference='nyud_v2_random_label')
