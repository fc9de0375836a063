# PASCAL-Context, one-label setting (published split: one task per image).
_base_ = ['./pascal_context_mt.py']
split_root = 'data/partial_label_splits'
train_batch_size = 6
train_dataloader = dict(
    batch_size=train_batch_size,
    # Every batch holds a label of every task (batch_size must match).
    sampler=dict(type='PartialLabelSampler', mode='cover_tasks',
                 batch_size=train_batch_size),
    dataset=dict(
        label_setting='one_label',
        split_file=f'{split_root}/pascal_context/onelabel.npy'))
_stl = dict(semseg=50.34, human_parts=59.05, sal=77.43, normals=16.59,
            edge=64.40)  # single-task one-label baselines (method.md)
val_evaluator = [
    dict(type='SemSegMetric', prefix='semseg', num_classes=21),
    dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
    dict(type='SaliencyMetric', prefix='sal'),
    dict(type='NormalsMetric', prefix='normals'),
    dict(type='EdgeMetric', prefix='edge', max_dist=0.0075),
    dict(type='MultiTaskGain', stl_reference=_stl),
]
test_evaluator = val_evaluator
