# DiffusionMTL as published (the authors' PASCAL code is the reference, number for
# number): ResNet-18 -> stride-8 fuse (a bare Conv3x3 with bias, 512) -> per-task
# initial heads (2 BasicBlocks + 1x1) -> Multi-Task Conditioning (a bare Conv3x3 with
# bias on the detached initial predictions) -> Feature Diffusion refinement (T = 2,
# x0-parameterised DDPM, float64 schedule). Opt-in variants of ours (BN'd neck or
# conditioner, batch-pooled saliency balance, ...): docs/configs.md.
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
        # torchvision's init when trained from scratch: no zero-init of the
        # residual BNs (mmseg's default zero-inits bn2)
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(
        type='MultiScaleFuseNeck',
        in_channels=[64, 128, 256, 512],
        target_index=1,  # fuse at stride 8
        norm_cfg=None,  # published: no norm, no activation, conv with bias
        act_cfg=None),
    init_heads=dict(type='InitialTaskHeads', num_blocks=2, norm_cfg=norm_cfg),
    conditioner=dict(
        type='MultiTaskConditioner',
        source='prediction',  # 'feature' = the paper figure's variant
        norm_cfg=None,  # published: a bare conv, kaiming fan_out, bias 0
        act_cfg=None),
    refine_head=dict(
        type='MultiTaskDenoiser',
        diffuse='feature',  # or 'prediction'
        scheduler=dict(
            type='DDPMScheduler',  # or 'DDIMScheduler' (eta=0.0)
            num_train_timesteps=2,  # T
            beta_start=1e-3,
            beta_end=1e-2,
            beta_schedule='scaled_linear'),  # LDM's linspace(sqrt b0, sqrt b1) ** 2
        # S <= T; keep S = T: the chain is trained unrolled, and S=1 on a T=2 model
        # collapses accuracy (to study S = 1/2/3 as the paper does, train with T = S)
        num_inference_steps=2,
        use_noise=True,  # False = the "w/o diffusion" ablation
        time_embed_dim=256,  # sinusoid cat([cos, sin]), MLP weights N(0, 0.02)
        num_blocks=4,
        num_heads=4,
        mlp_ratio=4.0,
        xavier_init=True,  # cross-attention Linear: xavier-uniform, zero bias
        token_stride=4,
        num_head_convs=3,
        noise_seed=0),
    # lambda_t of the official PASCAL recipe (depth: 1)
    loss_weights=dict(
        semseg=1.0, human_parts=2.0, sal=5.0, edge=50.0, normals=10.0, depth=1.0),
    init_loss_weight=0.5)
