# NYUD-v2, partial-label protocol (MTAN/MTPSL npy layout, 13 classes, depth,
# normals, 288x384). Augmentation as MTAN/MTPSL: RandomScaleCrop (scales 1,
# 1.2, 1.5; image and normals bilinear with align_corners=True, labels and
# depth nearest, depth divided by the scale) + horizontal flip (normals' x
# negated; MTPSL's NYUv2 loader does not flip: drop MultiTaskRandomFlip for
# its exact pipeline). Normals as stored (no renormalisation, zero = invalid),
# label -1 = ignore, depth 0 = invalid (docs/datasets.md).
dataset_type = 'NYUDv2PartialDataset'
data_root = 'data/nyuv2'
split_root = 'data/partial_label_splits'
tasks = ('semseg', 'normals', 'depth')
train_batch_size = 4

data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size_divisor=32)

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='PartialLabelSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        label_setting='full',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        label_setting='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# MultiTaskGain runs the per-task metrics and, given single-task reference
# numbers (`reference=`), adds Delta_m (docs/evaluation.md).
val_evaluator = dict(
    type='MultiTaskGain',
    reference=None,
    task_metrics=[
        dict(type='SemSegMetric', prefix='semseg', num_classes=13),
        dict(type='DepthMetric', prefix='depth'),
        dict(type='NormalsMetric', prefix='normals'),
    ])
test_evaluator = val_evaluator
