# PASCAL-Context multi-task (PASCAL_MT layout), all five tasks fully labelled.
# The one-/random-label settings inherit this file and set the split file.
# Official recipe (DiffusionMTL/InvPT), reproduced by default (docs/datasets.md):
# random scale 0.5-2.0 (new size int(x * s)), random crop 512 (cat_max_ratio
# 0.75 on the semseg map of every image), horizontal flip (normals' x negated),
# photometric distortion, ImageNet normalisation, then padding to 512 CENTRED,
# after normalisation (pad = 0 = the mean colour; labels 255, normals 0), and
# human-parts maps with no person part ignored; test: the same without the
# augmentation (labels kept unpadded, predictions cropped back).
# Opt-ins (each measured in docs/datasets.md):
#   mmcv rounding of sizes:  MultiTaskRandomScale(rounding='round')
#   bottom-right raw-0 pad:  data_preprocessor pad_position='bottom_right' and
#                            MultiTaskPad(size=crop_size) before packing
#   supervise no-person parts as background: drop IgnoreEmptyHumanParts
#   dataset: normals_valid_classes=None;
#            LoadMultiTaskAnnotations(normal_mode='unit')
dataset_type = 'PascalContextMTDataset'
data_root = 'data/PASCAL_MT'
split_root = 'data/partial_label_splits'
tasks = ('semseg', 'human_parts', 'sal', 'normals', 'edge')
crop_size = (512, 512)
train_batch_size = 6

# ImageNet normalisation, then centred padding to crop_size; model configs use
# it as their data_preprocessor.
data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=crop_size,
    pad_val=0,
    pad_position='center')

# The published ground-truth rule (the default of PascalContextMTDataset, spelt
# out here so that a config shows it).
gt_rules = dict(normals_valid_classes='published')

train_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='MultiTaskRandomScale', ratio_range=(0.5, 2.0),
         rounding='truncate'),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='IgnoreEmptyHumanParts'),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='IgnoreEmptyHumanParts'),
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
        ann_file='ImageSets/Context/train.txt',
        tasks=tasks,
        label_setting='full',
        **gt_rules,
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
        **gt_rules,
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
