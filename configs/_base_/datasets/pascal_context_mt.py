# PASCAL-Context multi-task (PASCAL_MT layout), all five tasks fully labelled.
# The one-/random-label settings inherit this file and set the split file.
# Official recipe (DiffusionMTL/InvPT): random scale 0.5-2.0, random crop 512
# (cat_max_ratio 0.75), horizontal flip (normals' x negated), photometric
# distortion, pad 512; test: pad to 512, no resize (labels kept unpadded).
dataset_type = 'PascalContextMTDataset'
data_root = 'data/PASCAL_MT'
split_root = 'data/partial_label_splits'
tasks = ('semseg', 'human_parts', 'sal', 'normals', 'edge')
crop_size = (512, 512)
train_batch_size = 6

# ImageNet normalisation; model configs use it as their data_preprocessor.
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0)

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomScale', ratio_range=(0.5, 2.0)),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='MultiTaskPad', size=crop_size),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskPad', size=crop_size, pad_labels=False),
    dict(type='PackMultiTaskInputs'),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='PartialLabelSampler', mode='random', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Context/train.txt',
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
        ann_file='ImageSets/Context/val.txt',
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
        dict(type='SemSegMetric', prefix='semseg', num_classes=21),
        dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
        dict(type='SaliencyMetric', prefix='sal'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.0075, thresholds=9),
    ])
test_evaluator = dict(
    type='MultiTaskGain',
    reference=None,
    task_metrics=[
        dict(type='SemSegMetric', prefix='semseg', num_classes=21),
        dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
        dict(type='SaliencyMetric', prefix='sal'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.0075, thresholds=99),
    ])

# Best checkpoint by semseg mIoU (AtomicCheckpointHook reads this key; any logged
# metric works, e.g. dict(save_best='depth/rmse', rule='less')).
best_checkpoint = dict(save_best='semseg/mIoU', rule='greater')
