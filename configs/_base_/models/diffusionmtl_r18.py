# DiffusionMTL, official recipe: ResNet-18 -> stride-8 fuse (512) -> per-task initial
# heads (2 BasicBlocks + 1x1) -> Multi-Task Conditioning on the detached initial
# predictions -> Feature Diffusion refinement (T = 2, x0-parameterised, DDPM).
# `tasks` (task -> output channels, ordered) and `data_preprocessor` are set by the
# experiment config.
# Pretrained ImageNet weights come through init_cfg (torchvision's resnet18,
# downloaded by mmengine on first use; set init_cfg=None to train from scratch).
norm_cfg = dict(type='BN', requires_grad=True)  # 'SyncBN' for multi-GPU runs
model = dict(
    type='MultiTaskEncoderDecoder',
    # ImageNet normalisation; experiment configs merge in the dataset base config's
    # `data_preprocessor` (padding/size depend on the data).
    data_preprocessor=dict(
        type='MultiTaskDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    # tasks=dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1): set by the
    # experiment config (ordered; output channels per task)
    channels=512,  # width of neck, heads, conditioner and denoiser
    backbone=dict(
        type='mmseg.ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(
        type='MultiScaleFuseNeck',
        in_channels=[64, 128, 256, 512],
        target_index=1,  # fuse at stride 8
        norm_cfg=norm_cfg),
    init_heads=dict(type='InitialTaskHeads', num_blocks=2, norm_cfg=norm_cfg),
    conditioner=dict(
        type='MultiTaskConditioner',
        source='prediction',  # 'feature' = the paper figure's variant
        norm_cfg=norm_cfg),
    refine_head=dict(
        type='DiffusionRefinementHead',
        diffuse='feature',  # or 'prediction'
        num_train_timesteps=2,
        num_inference_steps=2,  # S <= T; the paper studies 1/2/3
        beta_start=1e-3,
        beta_end=1e-2,
        beta_schedule='linear',
        sampler='ddpm',  # or 'ddim' (ddim_eta=0.0)
        use_noise=True,  # False = the "w/o diffusion" ablation
        time_embed_dim=256,
        num_blocks=4,
        num_heads=4,
        mlp_ratio=4.0,
        token_stride=4,
        num_head_convs=3,
        noise_seed=0),
    # lambda_t of the official PASCAL recipe (depth: 1)
    loss_weights=dict(
        semseg=1.0, human_parts=2.0, sal=5.0, edge=50.0, normals=10.0, depth=1.0),
    init_loss_weight=0.5,
    test_cfg=dict(mode='whole'))
