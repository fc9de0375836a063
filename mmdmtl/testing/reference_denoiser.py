"""Per-sample reference of the DiffusionMTL denoiser (the official loop structure).

It loops over images and over each image's labelled tasks, runs the reverse chain on
ONE (image, task) pair at a time, and computes the losses per image, with its own
copies of the schedule formulas. It shares the denoiser's weights, so the batched
``MultiTaskDenoiser.refine`` / ``MultiTaskEncoderDecoder.loss`` must give the
same numbers and gradients. Used by the tests and by
tools/analysis_tools/benchmark.py (its ``loop`` mode).

Functions:
    reference_refine(head, feats, preds, cond, labeled=None, noises=None)
        -> {(b, task): logits [1, C_t, h, w]}
    reference_loss(model, inputs, data_samples, noises=None) -> scalar total loss
"""
import math

import torch
import torch.nn.functional as F


def _ddpm_coefficients(alphas_cumprod, t, prev):
    """Posterior q(x_prev | x_t, x0) of the (possibly strided) DDPM chain."""
    a_t = alphas_cumprod[t]
    a_prev = alphas_cumprod[prev] if prev >= 0 else alphas_cumprod.new_ones(())
    beta = 1 - a_t / a_prev
    c0 = a_prev.sqrt() * beta / (1 - a_t)
    ct = (1 - a_prev) * (a_t / a_prev).sqrt() / (1 - a_t)
    std = (beta * (1 - a_prev) / (1 - a_t)).sqrt()
    return c0, ct, std


def _denoise_one(head, task, x, t, cond):
    """One denoiser step for one (image, task) pair: x, cond [1, C, h, w]."""
    temb = head.time_embed(torch.tensor([t], device=x.device))
    h = head.input_convs[task](x) + temb[:, :, None, None]
    s = head.token_stride
    grid = (math.ceil(h.shape[-2] / s), math.ceil(h.shape[-1] / s))
    if s > 1:
        ht = F.interpolate(h, size=grid, mode='bilinear', align_corners=False)
        ct = F.interpolate(cond, size=grid, mode='bilinear', align_corners=False)
    else:
        ht, ct = h, cond
    task_tokens = ht.flatten(2).transpose(1, 2)
    c = ct.flatten(2).transpose(1, 2)
    for blk in head.blocks:
        c, task_tokens = blk(c, task_tokens)
    out = c.transpose(1, 2).reshape(1, -1, *grid)
    if s > 1:
        out = F.interpolate(out, size=h.shape[-2:], mode='bilinear',
                            align_corners=False)
    return head.task_heads[task](out + h)


def reference_refine(head, feats, preds, cond, labeled=None, noises=None):
    """Loop version of ``head.refine``.

    Args:
        head: a MultiTaskDenoiser (its modules are used as they are).
        feats, preds: dict task -> [B, C, h, w].
        cond: [B, C, h, w].
        labeled: [B, T] bool (None = all pairs).
        noises: dict (b, task) -> list of [1, C, h, w] draws (start draw first);
            None = fresh torch.randn draws when head.use_noise, else no noise.
    """
    B = cond.shape[0]
    tasks = head.task_names
    sched = head.scheduler
    timesteps = sched.train_timesteps if head.training else list(sched.timesteps)
    # float64, as the published tables
    alpha_bar = torch.tensor(sched.alphas_cumprod, dtype=torch.float64)
    out = {}
    for b in range(B):
        c = cond[b:b + 1]
        for ti, task in enumerate(tasks):
            if labeled is not None and not bool(labeled[b, ti]):
                continue
            if head.diffuse == 'feature':
                x0 = feats[task][b:b + 1]
            else:
                x0 = head.embed_convs[task](preds[task][b:b + 1])
            if not head.use_noise:
                draws = None
            elif noises is not None:
                draws = noises[(b, task)]
            else:
                draws = [torch.randn_like(x0) for _ in timesteps]
            a = alpha_bar[timesteps[0]]
            x = float(a.sqrt()) * x0
            if draws is not None:
                x = x + float((1 - a).sqrt()) * draws[0]
            for i, t in enumerate(timesteps):
                x0_hat = _denoise_one(head, task, x, t, c)
                prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
                if prev < 0:
                    break
                c0, ct, std = map(float, _ddpm_coefficients(alpha_bar, t, prev))
                x = c0 * x0_hat + ct * x
                if draws is not None:
                    x = x + std * draws[i + 1]
            out[(b, task)] = head.final_convs[task](x0_hat)
    return out


def reference_loss(model, inputs, data_samples, noises=None):
    """Per-image loss of a MultiTaskEncoderDecoder with a refine head (official
    structure): for every image, for every labelled task, final + init_loss_weight x
    initial loss, times lambda_t, times T / #labelled; mean over the batch."""
    from mmdmtl.structures import stack_task_targets

    head = model.refine_head
    B = inputs.shape[0]
    size = inputs.shape[-2:]
    x = model.extract_feat(inputs)
    feats, preds = model.init_heads(x)
    cond = model.conditioner(feats, preds) if model.conditioner is not None else x
    tasks = model.task_names
    labeled = torch.tensor(
        [[t in s.metainfo.get('labeled_tasks', ()) for t in tasks]
         for s in data_samples])
    refined = reference_refine(head, feats, preds, cond, labeled, noises)
    targets = {t: stack_task_targets(data_samples, t)[0] for t in tasks}

    def up(z):
        return F.interpolate(z, size=size, mode='bilinear',
                             align_corners=model.align_corners)

    total = inputs.new_zeros(())
    for b in range(B):
        n_lab = int(labeled[b].sum())
        if n_lab == 0:
            continue
        scale = len(tasks) / n_lab
        for ti, task in enumerate(tasks):
            if not labeled[b, ti]:
                continue
            fn = model.task_losses[task]
            tgt = targets[task][b:b + 1]
            lf = fn(up(refined[(b, task)]), tgt)[0]
            li = fn(up(preds[task][b:b + 1]), tgt)[0]
            total = total + scale * model.loss_weights[task] * (
                lf + model.init_loss_weight * li)
    return total / B
