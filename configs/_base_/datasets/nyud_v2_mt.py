# NYUD-v2, fully supervised multi-task protocol (NYUD_MT layout of ATRC/InvPT:
# 40 classes, depth, normals, edge). The PASCAL recipe of the same code bases
# (scale 0.5-2.0 with sizes int(x * s), crop 448x576 with cat_max_ratio 0.75,
# flip, photometric distortion, normalisation, then centred padding with 0 =
# the mean colour); depth values are kept when scaling; normals as stored
# (only the zero vector is invalid, no renormalisation), depth 0 = invalid.
dataset_type = 'NYUDv2MTDataset'
data_root = 'data/NYUD_MT'
tasks = ('semseg', 'normals', 'edge', 'depth')
crop_size = (448, 576)
train_batch_size = 4

data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=crop_size,
    pad_val=0,
    pad_position='center')

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='MultiTaskRandomScale', ratio_range=(0.5, 2.0),
         rounding='truncate'),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
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
        ann_file='gt_sets/train.txt',
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
        ann_file='gt_sets/val.txt',
        tasks=tasks,
        label_setting='full',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# MultiTaskGain runs the per-task metrics and, given single-task reference
# numbers (`reference=`), adds Delta_m (docs/evaluation.md).
# Validation uses 9 edge thresholds (fast); the test protocol uses the
# full 99 of the BSDS benchmark.
val_evaluator = dict(
    type='MultiTaskGain',
    reference=None,
    task_metrics=[
        dict(type='SemSegMetric', prefix='semseg', num_classes=40),
        dict(type='DepthMetric', prefix='depth'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.011, thresholds=9),
    ])
test_evaluator = dict(
    type='MultiTaskGain',
    reference=None,
    task_metrics=[
        dict(type='SemSegMetric', prefix='semseg', num_classes=40),
        dict(type='DepthMetric', prefix='depth'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.011, thresholds=99),
    ])
