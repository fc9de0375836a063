# A stock mmseg EncoderDecoder (ResNet-18-V1c, ADE20K 512x512, single-task semantic
# segmentation) whose decode head is mmdmtl's DiffusionRefinementHead.
#
# Nothing but the head comes from mmdmtl: mmseg's registry, segmentor, dataset,
# pipeline, metric and runtime are used as they are (its own _base_ files). The
# head fuses the four backbone stages at stride 8 (its `fuse_index=1`), runs an
# initial head (2 BasicBlocks + 1x1), conditions on its detached prediction and
# refines with the 2-step feature diffusion chain; its loss adds 0.5 x the initial prediction's loss (`init_loss_ce`).
# Run it with mmseg's tools or ours: `python tools/train.py <this file>`.
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['mmdmtl.models'], allow_failed_imports=False)
default_scope = 'mmseg'

norm_cfg = dict(type='BN', requires_grad=True)  # 'SyncBN' for multi-GPU runs
crop_size = (512, 512)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(
        type='mmdmtl.DiffusionRefinementHead',
        # BaseDecodeHead arguments
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        input_transform='resize_concat',
        channels=512,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        # DiffusionMTL arguments
        fuse_index=1,  # fuse at the size of in_index[1] (stride 8)
        denoiser=dict(  # mmdmtl.MultiTaskDenoiser on the one task
            diffuse='feature',
            scheduler=dict(type='mmdmtl.DDPMScheduler', num_train_timesteps=2),
            num_inference_steps=2),  # keep S = T
        conditioner=dict(type='mmdmtl.MultiTaskConditioner', source='prediction'),
        init_loss_weight=0.5),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# mmseg's 80k SGD schedule, with gradient clipping
optim_wrapper = dict(clip_grad=dict(_delete_=True, max_norm=10, norm_type=2))
