# SyntheticScenes: the embedded dataset (generated on first use into
# data_root; no download). All six tasks, fully labelled. 128x128 images so a
# CPU demo trains in minutes; the recipe is PASCAL's, scaled to the size.
dataset_type = 'SyntheticScenesDataset'
data_root = 'data/synthetic_scenes'
tasks = ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth')
image_size = (128, 128)
generate = dict(num_train=400, num_val=100, size=image_size, seed=0)
train_batch_size = 8

data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    # no published recipe for these scenes: sizes as mmcv rounds them (the earlier
    # default; the demo's documented numbers were measured with it)
    dict(type='MultiTaskRandomScale', ratio_range=(0.75, 1.5), rounding='round'),
    dict(type='MultiTaskRandomCrop', crop_size=image_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='MultiTaskPad', size=image_size),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='PartialLabelSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        generate=generate,
        tasks=tasks,
        label_setting='full',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        generate=generate,
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
        dict(type='SemSegMetric', prefix='semseg', num_classes=9),
        dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
        dict(type='SaliencyMetric', prefix='sal'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.0075, thresholds=9),
        dict(type='DepthMetric', prefix='depth'),
    ])
test_evaluator = dict(
    type='MultiTaskGain',
    reference=None,
    task_metrics=[
        dict(type='SemSegMetric', prefix='semseg', num_classes=9),
        dict(type='HumanPartsMetric', prefix='human_parts', num_classes=7),
        dict(type='SaliencyMetric', prefix='sal'),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='EdgeMetric', prefix='edge', max_dist=0.0075, thresholds=99),
        dict(type='DepthMetric', prefix='depth'),
    ])
