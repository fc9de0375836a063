"""Checkpoints of the published DiffusionMTL code -> mmdmtl state dicts.

The published training script saves ``torch.save({'model': state_dict, 'optimizer':
..., 'scheduler': ..., 'epoch': e, 'iter_count': n})`` from a DDP-wrapped model, so
the keys usually carry a ``module.`` prefix (both forms are accepted). Its layout (every
key, shape and role) is documented beside the project in
``shared/data/official_checkpoint/SOURCE.md``; this module places every key of that
layout in ``MultiTaskEncoderDecoder`` or stops naming the keys it cannot place.

Key map (published -> ours)::

    backbone.*                                 backbone.* (torchvision = mmseg names)
    backbone_embed.{weight,bias}               neck.fuse.*
    preliminary_dec.<t>.<i>.*                  init_heads.blocks.<t>.<i>.*
    preliminary_head.<t>.0.*                   init_heads.preds.<t>.*
    diffusion_model.pred_combinator.out_layer  conditioner.fuse
    diffusion_model.denoiser.t_embedder.mlp    refine_head.time_embed.mlp
    diffusion_model.denoiser.pre_layer.<t>     refine_head.input_convs.<t>
    diffusion_model.denoiser.crossblocks.<i>   refine_head.blocks.<i> with
        norm1 -> norm_q, norm_kv -> norm_kv, norm2 -> norm_out, norm2_kv -> norm_task,
        attn -> attn (q, kv, proj), mlp -> mlp_out, mlp_kv -> mlp_task
    diffusion_model.denoiser.task_heads.<t>    refine_head.task_heads.<t>
    diffusion_model.denoiser.final_task_heads.<t>.linear_pred
                                               refine_head.final_convs.<t>
    diffusion_model.<schedule table>           checked against DDPMScheduler, dropped

Task order: the Multi-Task Conditioning conv reads the initial predictions
concatenated in the order of the published task list (semseg, human_parts, sal,
normals, edge on PASCAL), which is the order of the checkpoint's
``preliminary_head.<task>`` entries; the converted model must list ``tasks`` in that
order (the shipped PASCAL configs do).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch

from mmdmtl.models.diffusion import DDPMScheduler

#: The published schedule tables (float32 copies of float64 values).
SCHEDULE_TABLES = ('betas', 'alphas_cumprod', 'alphas_cumprod_prev',
                   'sqrt_alphas_cumprod', 'sqrt_one_minus_alphas_cumprod',
                   'log_one_minus_alphas_cumprod', 'sqrt_recip_alphas_cumprod',
                   'sqrt_recipm1_alphas_cumprod', 'posterior_variance',
                   'posterior_log_variance_clipped', 'posterior_mean_coef1',
                   'posterior_mean_coef2')

_CROSS_BLOCK_NAMES = dict(norm1='norm_q', norm_kv='norm_kv', norm2='norm_out',
                          norm2_kv='norm_task', attn='attn', mlp='mlp_out',
                          mlp_kv='mlp_task')

_RULES: List[Tuple[re.Pattern, str]] = [(re.compile(p), r) for p, r in [
    (r'^backbone\.(?!fc\.)(.+)$', r'backbone.\1'),
    (r'^backbone_embed\.(weight|bias)$', r'neck.fuse.\1'),
    (r'^preliminary_dec\.(\w+)\.(\d+)\.(.+)$', r'init_heads.blocks.\1.\2.\3'),
    (r'^preliminary_head\.(\w+)\.0\.(weight|bias)$', r'init_heads.preds.\1.\2'),
    (r'^diffusion_model\.pred_combinator\.out_layer\.(weight|bias)$',
     r'conditioner.fuse.\1'),
    (r'^diffusion_model\.denoiser\.t_embedder\.mlp\.([02])\.(weight|bias)$',
     r'refine_head.time_embed.mlp.\1.\2'),
    (r'^diffusion_model\.denoiser\.pre_layer\.(\w+)\.(weight|bias)$',
     r'refine_head.input_convs.\1.\2'),
    (r'^diffusion_model\.denoiser\.task_heads\.(\w+)\.(\d+)\.(weight|bias)$',
     r'refine_head.task_heads.\1.\2.\3'),
    (r'^diffusion_model\.denoiser\.final_task_heads\.(\w+)\.linear_pred\.'
     r'(weight|bias)$', r'refine_head.final_convs.\1.\2'),
]]
_CROSS_BLOCK = re.compile(r'^diffusion_model\.denoiser\.crossblocks\.(\d+)\.'
                          r'(norm1|norm_kv|norm2|norm2_kv|attn|mlp|mlp_kv)\.(.+)$')
_SCHEDULE = re.compile(r'^diffusion_model\.(' + '|'.join(SCHEDULE_TABLES) + r')$')


class OfficialCheckpointError(ValueError):
    """The file is not a published DiffusionMTL checkpoint this converter can place."""


def published_schedule_tables(num_train_timesteps: int) -> Dict[str, np.ndarray]:
    """The published tables recomputed in float64 from our ``DDPMScheduler`` (the
    posterior-mean coefficients are its own step coefficients t -> t-1)."""
    s = DDPMScheduler(num_train_timesteps=num_train_timesteps)
    b = s.betas
    alpha_bar = s.alphas_cumprod
    prev = np.append(1.0, alpha_bar[:-1])
    # unclipped here (0 at t = 0): the published table keeps the raw variance
    var = b * (1.0 - prev) / (1.0 - alpha_bar)
    coef1, coef2 = np.array([s.step_coefficients(t, t - 1)[:2]
                             for t in range(s.num_train_timesteps)]).T
    return dict(
        betas=b, alphas_cumprod=alpha_bar, alphas_cumprod_prev=prev,
        sqrt_alphas_cumprod=np.sqrt(alpha_bar),
        sqrt_one_minus_alphas_cumprod=np.sqrt(1.0 - alpha_bar),
        log_one_minus_alphas_cumprod=np.log(1.0 - alpha_bar),
        sqrt_recip_alphas_cumprod=np.sqrt(1.0 / alpha_bar),
        sqrt_recipm1_alphas_cumprod=np.sqrt(1.0 / alpha_bar - 1),
        posterior_variance=var,
        posterior_log_variance_clipped=np.log(np.maximum(var, 1e-20)),
        posterior_mean_coef1=coef1,
        posterior_mean_coef2=coef2)


def split_official_checkpoint(obj) -> Tuple[Dict[str, torch.Tensor], dict]:
    """A published-code checkpoint -> (its model state dict without the
    ``module.`` prefix, its other top-level entries: epoch, optimizer, ...)."""
    if isinstance(obj, Mapping) and 'model' in obj and isinstance(obj['model'], Mapping):
        sd, rest = obj['model'], {k: v for k, v in obj.items() if k != 'model'}
    elif isinstance(obj, Mapping) and 'state_dict' in obj:
        raise OfficialCheckpointError(
            "this looks like an MMEngine checkpoint ('state_dict' entry), not one of "
            'the published code; load it with load_from / tools/test.py directly')
    elif isinstance(obj, Mapping) and obj and all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        sd, rest = obj, {}
    else:
        raise OfficialCheckpointError(
            "expected the published checkpoint: a dict with a 'model' state dict "
            f'(or a bare state dict), got {type(obj).__name__}'
            + (f' with keys {sorted(obj)[:6]}' if isinstance(obj, Mapping) else ''))
    out = OrderedDict()
    for k, v in sd.items():
        out[k[len('module.'):] if k.startswith('module.') else k] = v
    return out, rest


def map_key(key: str) -> Optional[str]:
    """Our name of a published key (prefix stripped); None if no rule applies."""
    m = _CROSS_BLOCK.match(key)
    if m:
        return f'refine_head.blocks.{m[1]}.{_CROSS_BLOCK_NAMES[m[2]]}.{m[3]}'
    for pattern, repl in _RULES:
        if pattern.match(key):
            return pattern.sub(repl, key)
    return None


def convert_official_state_dict(state_dict: Mapping[str, torch.Tensor],
                                atol: float = 1e-6) -> Tuple[OrderedDict, dict]:
    """Map every key of a published state dict (prefix already stripped).

    Returns (our state dict, summary). Raises ``OfficialCheckpointError`` naming
    every key no rule places, or a schedule table that is not ours.
    """
    out, unplaced, tables, dropped = OrderedDict(), [], {}, []
    for key, value in state_dict.items():
        if _SCHEDULE.match(key):
            tables[key.split('.')[-1]] = value
            continue
        if key.startswith('backbone.fc.'):
            dropped.append(key)  # torchvision's classifier: no role in the model
            continue
        new = map_key(key)
        if new is None:
            unplaced.append(key)
        else:
            out[new] = value
    if unplaced:
        raise OfficialCheckpointError(
            f'{len(unplaced)} key(s) of the checkpoint have no place in mmdmtl\'s '
            f'DiffusionMTL (another variant or model?): {", ".join(unplaced[:8])}'
            + (f', ... (+{len(unplaced) - 8} more)' if len(unplaced) > 8 else ''))
    tasks = OrderedDict()
    for key, value in out.items():
        m = re.match(r'^init_heads\.preds\.(\w+)\.weight$', key)
        if m:
            tasks[m[1]] = int(value.shape[0])
    T = None
    if tables:
        if 'betas' not in tables:
            raise OfficialCheckpointError(
                'the schedule tables lack diffusion_model.betas; cannot check them')
        T = int(tables['betas'].numel())
        ours = published_schedule_tables(T)
        for name, value in tables.items():
            expect = ours[name]
            got = value.detach().double().cpu().numpy()
            if got.shape != expect.shape or not np.allclose(got, expect, atol=atol,
                                                            rtol=1e-5):
                raise OfficialCheckpointError(
                    f'schedule table diffusion_model.{name} = {got.tolist()} differs '
                    f'from the published DDPM schedule (T={T}, betas 1e-3..1e-2, '
                    f"'scaled_linear'): {expect.tolist()}; set model.refine_head."
                    'scheduler to the schedule this checkpoint was trained with')
    if 'refine_head.time_embed.mlp.0.weight' in out:
        # our training-noise counter (a fresh conversion starts it at 0)
        out['refine_head.train_iter'] = torch.zeros((), dtype=torch.long)
    width = int(out['neck.fuse.weight'].shape[0]) if 'neck.fuse.weight' in out \
        else None
    summary = dict(tasks=dict(tasks), num_train_timesteps=T, channels=width,
                   num_keys=len(state_dict), num_placed=len(out),
                   schedule_tables_checked=sorted(tables), dropped=dropped,
                   num_parameters=int(sum(v.numel() for k, v in out.items()
                                          if v.is_floating_point())))
    return out, summary
