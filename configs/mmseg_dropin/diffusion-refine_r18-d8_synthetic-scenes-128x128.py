# Quick start of the mmseg drop-in (docs/mmseg_dropin.md) without ADE20K: the same
# stock mmseg EncoderDecoder + DiffusionRefinementHead, trained from scratch on the
# generated SyntheticScenes semseg (9 classes, 128x128) read by mmseg's own
# BaseSegDataset. Generate the data first:
#   python tools/dataset_converters/generate_synthetic_scenes.py data/synthetic_scenes \
#       --num-train 400 --num-val 100 --size 128 128
_base_ = ['./diffusion-refine_r18-d8_4xb4-80k_ade20k-512x512.py']
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # offline: nothing to download
    backbone=dict(init_cfg=None),
    decode_head=dict(num_classes=9, channels=128))
metainfo = dict(
    classes=('floor', 'wall', 'ceiling', 'window', 'rug', 'box', 'sphere',
             'cylinder', 'figure'),
    palette=[[140, 110, 80], [200, 195, 180], [235, 235, 235], [120, 180, 230],
             [160, 40, 60], [170, 120, 60], [60, 160, 90], [70, 90, 180],
             [230, 160, 40]])
data = dict(type='BaseSegDataset', data_root='data/synthetic_scenes',
            metainfo=metainfo, img_suffix='.png', seg_map_suffix='.png',
            data_prefix=dict(img_path='images', seg_map_path='segmentation'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.75, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(_delete_=True, ann_file='gt_sets/train.txt',
                 pipeline=train_pipeline, **data))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(_delete_=True, ann_file='gt_sets/val.txt',
                 pipeline=test_pipeline, **data))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=2000, by_epoch=False)
]
train_cfg = dict(max_iters=2000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500, save_best='mIoU', rule='greater'))
tta_model = None
