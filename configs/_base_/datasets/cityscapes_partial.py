# Cityscapes, MTAN/MTPSL protocol: 7 classes + depth (disparity scale) at
# 128x256, npy layout. Augmentation: RandomScaleCrop (MTAN resampling: image
# bilinear align_corners=True, label and depth nearest, depth / scale) +
# horizontal flip (MTPSL flips in its single-task script, flip=True, not in
# its multi-task one). Label -1 = ignore, depth 0 = invalid.
dataset_type = 'CityscapesPartialDataset'
data_root = 'data/cityscapes'
split_root = 'data/partial_label_splits'
tasks = ('semseg', 'depth')
train_batch_size = 8

data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
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
        dict(type='SemSegMetric', prefix='semseg', num_classes=7),
        dict(type='DepthMetric', prefix='depth'),
    ])
test_evaluator = val_evaluator
