# DiffusionMTL on a dataset of your own in plain folders (docs/customize_datasets.md):
# semseg + depth, one labelled task per training image.
_base_ = ['../_base_/models/diffusionmtl_r18.py', '../_base_/default_runtime.py']
classes = ('floor', 'wall', 'ceiling', 'window', 'rug', 'box', 'sphere', 'cylinder',
           'figure')
folders = dict(
    type='MultiTaskFolderDataset', data_root='data/my_dataset', img_dir='images',
    tasks=dict(semseg=dict(dir='semseg', suffix='.png'),   # class ids, 255 = ignore
               depth=dict(dir='depth', suffix='.png', scale=1e-3)),  # mm -> m
    metainfo=dict(classes=classes))
load = [dict(type='LoadMultiTaskImage'), dict(type='LoadMultiTaskAnnotations')]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='PartialLabelSampler', infinite=True),
    batch_sampler=dict(type='TaskCoveringBatchSampler'),  # every task in each batch
    dataset=dict(**folders, ann_file='splits/train.txt', label_setting='one_label',
                 split_file='splits/train_one_label.json',
                 pipeline=load + [dict(type='MultiTaskRandomFlip', prob=0.5),
                                  dict(type='PackMultiTaskInputs')]))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**folders, ann_file='splits/val.txt', test_mode=True,
                 pipeline=load + [dict(type='PackMultiTaskInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskGain', task_metrics=[
    dict(type='SemSegMetric', prefix='semseg', num_classes=len(classes)),
    dict(type='DepthMetric', prefix='depth')])
test_evaluator = val_evaluator
model = dict(tasks=dict(semseg=len(classes), depth=1), channels=64,
             backbone=dict(init_cfg=None))  # from scratch (offline); see the docs
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3), clip_grad=dict(max_norm=10))
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=False, end=2000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=500, save_best='semseg/mIoU', rule='greater'))
