# NYUD-v2 (13-class partial-label protocol), random-label setting (published
# MTPSL split file; columns semseg, depth, normals; rows = image order).
_base_ = ['./nyud_v2_partial.py']
split_root = 'data/partial_label_splits'
train_batch_size = 4
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='PartialLabelSampler', mode='cover_tasks',
                 batch_size=train_batch_size),
    dataset=dict(
        label_setting='random_label',
        split_file=f'{split_root}/nyuv2/randomlabels.pth'))
val_evaluator = [
    dict(type='SemSegMetric', prefix='semseg', num_classes=13),
    dict(type='DepthMetric', prefix='depth'),
    dict(type='NormalsMetric', prefix='normals'),
    # single-task baselines of this setting (method.md)
    dict(type='MultiTaskGain', stl_reference=dict(semseg=48.25, depth=0.4792, normals=24.65)),
]
test_evaluator = val_evaluator
