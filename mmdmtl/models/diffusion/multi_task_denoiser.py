"""MultiTaskDenoiser: the multi-task denoising refinement model of DiffusionMTL.

It refines the initial features (or predictions) of every task with one reverse
diffusion chain, run on the (image, task) pairs it is asked for, all of them in one
batch. ``MultiTaskEncoderDecoder`` uses it as its ``refine_head``;
``DiffusionRefinementHead`` (decode_heads/) wraps it as a stock mmseg decode head.

The reverse chain (x0 parameterisation, see ``DDPMScheduler``)::

    x_T    = sqrt(alpha_bar_T) x0 + sqrt(1 - alpha_bar_T) eps
                                                    x0 = F_t, or Embed_t(P_t)
    x0_hat = D_t(x_t, t, F_cond)                    for t = T-1 .. 0
    x_prev = posterior(x0_hat, x_t) (+ std * eps)   no noise at the last step
    logits = Conv1x1_t(x0_hat at t = 0)

(alpha_bar_t = prod_{s <= t} (1 - beta_s), the scheduler's ``alphas_cumprod``.)

Denoiser D_t (one step)::

    h = Conv3x3_t(x_t) + TimeEmbed(t);  h0 = h
    task / condition tokens = h / F_cond bilinearly downsampled by token_stride
    4 shared CrossAttentionBlocks (condition attends to task tokens)
    x0_hat = Head_t(upsample(condition stream) + h0)   # Conv1x1, 3 x (Conv3x3, ReLU)

Prediction diffusion (``diffuse='prediction'``, paper only, encoding unpublished):
the initial prediction P_t is embedded by a per-task Conv3x3 (C_t -> channels) and that
embedding is diffused; everything else is the same.

Noise: in training one generator per step, seeded from ``noise_seed``, the persistent
``train_iter`` counter (saved in checkpoints: a resumed run draws the same noise) and
the distributed rank. In inference every (image, task) pair gets its own generator,
seeded from ``noise_seed``, the image (file name CRC32) and the task, so predictions do
not depend on the batch an image lands in, and evaluation is reproducible.
"""
import zlib
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.model import BaseModule

from mmdmtl.models.diffusion.cross_attention import CrossAttentionBlock
from mmdmtl.models.diffusion.time_embedding import TimestepEmbedding
from mmdmtl.models.utils import check_task_channels, scoped_type, zero_touch
from mmdmtl.registry import MODELS

_MASK64 = (1 << 63) - 1


def _mix_seed(*parts: int) -> int:
    """Deterministic 63-bit seed from integers (stable across processes)."""
    data = b'|'.join(str(int(p)).encode() for p in parts)
    return (zlib.crc32(data) << 31 ^ zlib.adler32(data)) & _MASK64


def _task_head(channels: int, num_convs: int) -> nn.Sequential:
    layers: List[nn.Module] = [nn.Conv2d(channels, channels, 1)]
    for _ in range(num_convs):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class MultiTaskDenoiser(BaseModule):
    """Multi-task denoising refinement: one reverse chain over (image, task) pairs.

    Args:
        tasks (dict): task -> output channels (ordered).
        channels (int): width of the diffused signal and the denoiser (512
            official; smaller for demos).
        diffuse (str): 'feature' (official) or 'prediction'.
        scheduler (dict): the noise scheduler, ``dict(type='DDPMScheduler',
            num_train_timesteps=2, beta_start=1e-3, beta_end=1e-2,
            beta_schedule='scaled_linear')`` (published) or ``type='DDIMScheduler'``
            (with ``eta``). T = ``num_train_timesteps`` is the trained chain.
        num_inference_steps (int, optional): S <= T; None = T. The one place it is
            read: it is handed to ``scheduler.set_timesteps``. Keep S = T for a
            model trained with T (the chain is trained unrolled; S=1 on a T=2 model
            collapses accuracy).
        use_noise (bool): False = "w/o diffusion" ablation: same refiner, same
            chain, zero noise.
        time_embed_dim (int): sinusoidal size. Default: 256.
        time_embed (dict, optional): other ``TimestepEmbedding`` kwargs
            (published: ``flip_sin_to_cos=True, weight_std=0.02``).
        num_blocks / num_heads / mlp_ratio / qkv_bias: shared cross-attention
            blocks (4 / 4 / 4 / False).
        xavier_init (bool): xavier-uniform Linear layers with zero bias in the
            cross-attention blocks (published). Default: True.
        token_stride (int): downsampling of the maps into tokens. Default: 4.
        num_head_convs (int): Conv3x3+ReLU layers of each task head. Default: 3.
        noise_seed (int): base seed of training and inference noise.
        inference_chunk (int, optional): at inference, run the chain on at most
            this many (image, task) pairs at a time (None: all at once). Bounds
            the denoiser's peak memory to that of ``inference_chunk`` pairs; the
            outputs are the same (inference noise is seeded per pair). On a CPU
            the convolutions are compute-bound, so small chunks cost little speed.
        return_features (bool): ``refine`` returns the refined features x0_hat
            and the denoiser has no ``final_convs`` (the mmseg adapter projects
            them with its own ``conv_seg``). Default False: every task ends with
            its Conv1x1 to the task's output channels (``final_convs``).
        logit_residual (bool): ours, opt-in (not in the published model): the
            refined logits are the initial prediction plus the task's Conv1x1 of
            x0_hat, that Conv1x1 zero-initialised, so the refined output starts
            equal to the initial heads' and the chain learns a correction
            conditioned on every task. Needs ``return_features=False``. Measured
            effect: docs/results.md (partial-label study). Default: False
            (published).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 tasks: Mapping[str, int],
                 channels: int = 512,
                 diffuse: str = 'feature',
                 scheduler: dict = dict(
                     type='DDPMScheduler',
                     num_train_timesteps=2,
                     beta_start=1e-3,
                     beta_end=1e-2,
                     beta_schedule='scaled_linear'),
                 num_inference_steps: Optional[int] = None,
                 use_noise: bool = True,
                 time_embed_dim: int = 256,
                 time_embed: Optional[dict] = None,
                 num_blocks: int = 4,
                 num_heads: int = 4,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = False,
                 xavier_init: bool = True,
                 token_stride: int = 4,
                 num_head_convs: int = 3,
                 noise_seed: int = 0,
                 inference_chunk: Optional[int] = None,
                 return_features: bool = False,
                 logit_residual: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        tasks = check_task_channels(tasks, type(self).__name__)
        if diffuse not in ('feature', 'prediction'):
            raise ValueError(f"{type(self).__name__}: diffuse must be 'feature' or "
                             f"'prediction', got {diffuse!r}")
        if token_stride < 1:
            raise ValueError(f'token_stride must be >= 1, got {token_stride}')
        if inference_chunk is not None and int(inference_chunk) < 1:
            raise ValueError(f'inference_chunk must be >= 1 or None, got '
                             f'{inference_chunk}')
        self.tasks = tasks
        self.task_names = tuple(tasks)
        self.channels = int(channels)
        self.diffuse = diffuse
        self.use_noise = use_noise
        self.token_stride = int(token_stride)
        self.noise_seed = int(noise_seed)
        self.inference_chunk = None if inference_chunk is None else \
            int(inference_chunk)
        self.return_features = bool(return_features)
        if logit_residual and self.return_features:
            raise ValueError(f'{type(self).__name__}: logit_residual=True adds the '
                             'initial logits to the projected ones; it needs '
                             'return_features=False')
        self.logit_residual = bool(logit_residual)

        # A plain object, not a module: its float64 coefficients leave it as
        # Python floats, so there is nothing to move between devices or to save.
        self.scheduler = MODELS.build(scoped_type(scheduler))
        self.scheduler.set_timesteps(num_inference_steps)
        self.time_embed = TimestepEmbedding(time_embed_dim, channels,
                                            **(time_embed or {}))
        if diffuse == 'prediction':
            self.embed_convs = nn.ModuleDict({
                t: nn.Conv2d(c, channels, 3, padding=1)
                for t, c in tasks.items()
            })
        self.input_convs = nn.ModuleDict(
            {t: nn.Conv2d(channels, channels, 3, padding=1)
             for t in tasks})
        self.blocks = nn.ModuleList([
            CrossAttentionBlock(channels, num_heads, mlp_ratio, qkv_bias,
                                xavier_init=xavier_init)
            for _ in range(num_blocks)
        ])
        self.task_heads = nn.ModuleDict(
            {t: _task_head(channels, num_head_convs)
             for t in tasks})
        if not self.return_features:
            self.final_convs = nn.ModuleDict(
                {t: nn.Conv2d(channels, c, 1)
                 for t, c in tasks.items()})
            if self.logit_residual:
                # the refined output starts as the initial prediction
                for conv in self.final_convs.values():
                    nn.init.zeros_(conv.weight)
                    nn.init.zeros_(conv.bias)
        # Counts training steps; seeds the training noise and is checkpointed.
        self.register_buffer('train_iter', torch.zeros((), dtype=torch.long))

    # ----------------------------------------------------------------- helpers
    @property
    def num_inference_steps(self) -> int:
        return self.scheduler.num_inference_steps

    def timesteps(self, training: Optional[bool] = None) -> List[int]:
        """The reverse chain, largest first: all T steps in training (the chain is
        trained unrolled), the scheduler's S inference steps otherwise."""
        training = self.training if training is None else training
        return self.scheduler.train_timesteps if training else \
            list(self.scheduler.timesteps)

    def _tokens(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """[N, C, h, w] -> ([N, L, C] tokens, token grid size)."""
        s = self.token_stride
        if s > 1:
            size = (-(-x.shape[-2] // s), -(-x.shape[-1] // s))
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        return x.flatten(2).transpose(1, 2), tuple(x.shape[-2:])

    @staticmethod
    def _per_task(modules: nn.ModuleDict, x: torch.Tensor,
                  groups: Sequence[Tuple[str, int, int]]) -> torch.Tensor:
        """Apply a per-task module to contiguous task groups [start, end)."""
        return torch.cat([modules[t](x[a:b]) for t, a, b in groups], dim=0)

    def zero_touch(self, tasks: Sequence[str]) -> torch.Tensor:
        """0 times every parameter of the given tasks' modules (DDP-safe zero loss
        for tasks without a label in the batch)."""
        mods = [self.input_convs, self.task_heads]
        if not self.return_features:
            mods.append(self.final_convs)
        if self.diffuse == 'prediction':
            mods.append(self.embed_convs)
        touch = zero_touch(m[t] for t in tasks for m in mods)
        if touch is None:  # frozen modules
            return self.time_embed.mlp[0].bias.new_zeros(())
        return touch

    # ------------------------------------------------------------ the chain
    def denoise(self, x_t: torch.Tensor, t: int, cond_tokens: torch.Tensor,
                groups: Sequence[Tuple[str, int, int]]) -> torch.Tensor:
        """One denoiser pass for N pairs ordered task-major.

        Args:
            x_t: [N, C, h, w] noisy signals.
            t: the timestep (same for all pairs).
            cond_tokens: [N, L, C] condition tokens of each pair's image.
            groups: (task, start, end) slices of the pairs.
        Returns:
            x0_hat [N, C, h, w].
        """
        temb = self.time_embed(
            torch.full((1, ), t, device=x_t.device, dtype=torch.long))
        h = self._per_task(self.input_convs, x_t, groups) + temb[:, :, None, None]
        task_tokens, grid = self._tokens(h)
        cond = cond_tokens
        for blk in self.blocks:
            cond, task_tokens = blk(cond, task_tokens)
        out = cond.transpose(1, 2).reshape(cond.shape[0], cond.shape[2], *grid)
        if grid != tuple(h.shape[-2:]):
            out = F.interpolate(
                out, size=h.shape[-2:], mode='bilinear', align_corners=False)
        return self._per_task(self.task_heads, out + h, groups)

    def run_chain(self, x0: torch.Tensor, cond: torch.Tensor,
                  pair_sample: torch.Tensor,
                  groups: Sequence[Tuple[str, int, int]],
                  noises: Optional[Sequence[torch.Tensor]]) -> torch.Tensor:
        """Unrolled reverse chain for N pairs (task-major order).

        Args:
            x0: [N, C, h, w] clean signals (F_t or the embedded P_t).
            cond: [B, C, h, w] condition map per image.
            pair_sample: [N] image index of each pair.
            groups: (task, start, end) slices.
            noises: one [N, C, h, w] tensor per noise draw (``len(timesteps)``:
                the start and every non-final step), or None for no noise.
        Returns:
            x0_hat of the last step [N, C, h, w].
        """
        if cond.shape[1] != x0.shape[1]:
            raise ValueError(f'condition has {cond.shape[1]} channels, the denoiser '
                             f'{x0.shape[1]}: set the conditioner/neck channels to '
                             'the head channels')
        if cond.shape[-2:] != x0.shape[-2:]:
            cond = F.interpolate(
                cond, size=x0.shape[-2:], mode='bilinear', align_corners=False)
        timesteps = self.timesteps()
        cond_tokens = self._tokens(cond)[0].index_select(0, pair_sample)
        x = self.scheduler.add_noise(x0, noises[0] if noises else None,
                                     timesteps[0])
        x0_hat = x
        for i, t in enumerate(timesteps):
            x0_hat = self.denoise(x, t, cond_tokens, groups)
            prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            x = self.scheduler.step(
                x0_hat, t, x,
                noise=noises[i + 1] if noises and prev >= 0 else None,
                prev_timestep=prev).prev_sample
        return x0_hat

    def _training_noise(self, shape, ref: torch.Tensor, n: int) -> List[torch.Tensor]:
        seed = _mix_seed(self.noise_seed, int(self.train_iter), get_rank())
        self.train_iter += 1
        g = torch.Generator(device=ref.device)
        g.manual_seed(seed)
        return [
            torch.randn(shape, generator=g, device=ref.device, dtype=ref.dtype)
            for _ in range(n)
        ]

    def inference_noise(self, shape, ref: torch.Tensor, sample_keys: Sequence[int],
                        pair_sample: Sequence[int], pair_task: Sequence[str],
                        n: int) -> List[torch.Tensor]:
        """Noise seeded per (image key, task): draws [n][N, ...] tensors."""
        per_pair = []
        for b, task in zip(pair_sample, pair_task):
            g = torch.Generator(device=ref.device)
            g.manual_seed(
                _mix_seed(self.noise_seed, sample_keys[b],
                          zlib.crc32(task.encode())))
            per_pair.append(
                torch.randn((n, ) + tuple(shape[1:]), generator=g,
                            device=ref.device, dtype=ref.dtype))
        stacked = torch.stack(per_pair, dim=1)  # [n, N, ...]
        return list(stacked.unbind(0))

    def refine(self,
               feats: Dict[str, torch.Tensor],
               preds: Dict[str, torch.Tensor],
               cond: torch.Tensor,
               labeled: Optional[torch.Tensor] = None,
               sample_keys: Optional[Sequence[int]] = None,
               noises: Optional[Sequence[torch.Tensor]] = None
               ) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
        """Run the chain on the requested (image, task) pairs, all in one batch.

        Args:
            feats / preds: per task, [B, C, h, w] initial features / predictions.
            cond: [B, C, h, w] condition map.
            labeled: [B, T] bool, the pairs to refine (tasks in ``self.tasks``
                order); None = all pairs.
            sample_keys: per image seed keys for inference noise (default: batch
                position).
            noises: explicit noise draws (tests); overrides the generators.

        Returns:
            dict task -> (logits [n_t, C_t, h, w], or with ``return_features=True`` the
            refined features [n_t, channels, h, w]; image indices [n_t]) for
            the tasks with at least one pair.
        """
        src = feats if self.diffuse == 'feature' else preds
        ref = src[self.task_names[0]]
        B = ref.shape[0]
        if labeled is None:
            labeled = torch.ones(B, len(self.tasks), dtype=torch.bool,
                                 device=ref.device)
        # Task-major pairs: each task's pairs are one contiguous slice.
        t_idx, b_idx = labeled.t().nonzero(as_tuple=True)
        counts = torch.bincount(t_idx, minlength=len(self.tasks)).tolist()
        groups, start = [], 0
        for ti, n in enumerate(counts):
            if n:
                groups.append((self.task_names[ti], start, start + n))
                start += n
        if not groups:
            return {}
        N = int(b_idx.numel())
        chunk = N if self.training or not self.inference_chunk else \
            min(self.inference_chunk, N)
        n_draws = len(self.timesteps())
        keys = list(range(B)) if sample_keys is None else list(sample_keys)
        pair_task = [t for t, a, b in groups for _ in range(b - a)]
        logits = {task: [] for task, _, _ in groups}
        # Chunks hold only their own pairs' x0, noise and x0_hat, so at inference
        # the peak is that of ``chunk`` pairs (training: one chunk of all pairs).
        for s in range(0, N, chunk):
            e = min(s + chunk, N)
            # the task slices of this chunk, relative to its start
            sub_groups = [(t, max(a, s) - s, min(b, e) - s) for t, a, b in groups
                          if a < e and b > s]
            x0 = self._diffused_signal(src, sub_groups, b_idx[s:e])
            if not self.use_noise:
                sub_noises = None
            elif noises is not None:
                sub_noises = [n[s:e] for n in noises]
            elif self.training:
                sub_noises = self._training_noise(x0.shape, x0, n_draws)
            else:  # inference: per-pair seeded draws
                sub_noises = self.inference_noise(x0.shape, x0, keys,
                                                  b_idx[s:e].tolist(),
                                                  pair_task[s:e], n_draws)
            x0_hat = self.run_chain(x0, cond, b_idx[s:e], sub_groups, sub_noises)
            del x0
            for task, a, b in sub_groups:
                feat = x0_hat[a:b]
                if self.return_features:
                    logits[task].append(feat)
                    continue
                out = self.final_convs[task](feat)
                if self.logit_residual:
                    out = out + preds[task].index_select(0, b_idx[s + a:s + b])
                logits[task].append(out)
        return {
            task: (parts[0] if len(parts) == 1 else torch.cat(parts, dim=0),
                   b_idx[a:b])
            for (task, a, b), parts in zip(groups, logits.values())
        }

    def _diffused_signal(self, src: Dict[str, torch.Tensor], groups,
                         pair_sample: torch.Tensor) -> torch.Tensor:
        """x0 of the pairs in ``groups`` (task slices into ``pair_sample``)."""
        parts = []
        for task, a, b in groups:
            x = src[task].index_select(0, pair_sample[a:b])
            if self.diffuse == 'prediction':
                x = self.embed_convs[task](x)
            parts.append(x)
        x0 = parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)
        if x0.shape[1] != self.channels:
            raise ValueError(f'{type(self).__name__}: the diffused signal has '
                             f'{x0.shape[1]} channels, the denoiser '
                             f'{self.channels}')
        return x0

