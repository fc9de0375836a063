import numpy as np
import pytest
import torch

from mmdmtl.models.diffusion import MultiTaskDenoiser

TASKS = dict(semseg=5, sal=2, normals=3, edge=1)
C = 8


def _head(**kw):
    torch.manual_seed(0)
    kw.setdefault('num_heads', 2)
    return MultiTaskDenoiser(tasks=TASKS, channels=C, **kw)


def _inputs(B=3, h=8, w=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    feats = {t: torch.randn(B, C, h, w, generator=g).requires_grad_()
             for t in TASKS}
    preds = {t: torch.randn(B, c, h, w, generator=g).requires_grad_()
             for t, c in TASKS.items()}
    cond = torch.randn(B, C, h, w, generator=g).requires_grad_()
    return feats, preds, cond


LABELED = torch.tensor([[1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)


def _noises(labeled, steps, h=8, w=8, seed=2):
    """Per-pair draws and the same draws stacked in the head's task-major order."""
    g = torch.Generator().manual_seed(seed)
    per_pair = {}
    for b in range(labeled.shape[0]):
        for ti, t in enumerate(TASKS):
            if labeled[b, ti]:
                per_pair[(b, t)] = [torch.randn(1, C, h, w, generator=g)
                                    for _ in range(steps)]
    order = [(b, t) for ti, t in enumerate(TASKS)
             for b in range(labeled.shape[0]) if labeled[b, ti]]
    stacked = [torch.cat([per_pair[p][k] for p in order]) for k in range(steps)]
    return per_pair, stacked


@pytest.mark.parametrize('diffuse', ['feature', 'prediction'])
@pytest.mark.parametrize('training', [True, False])
def test_batched_refine_equals_per_sample_reference(model_helpers, diffuse, training):
    ref_mod = model_helpers['load_reference']()
    head = _head(diffuse=diffuse, token_stride=2)
    head.train(training)
    steps = len(head.timesteps(training))
    per_pair, stacked = _noises(LABELED, steps)

    feats, preds, cond = _inputs()
    out = head.refine(feats, preds, cond, labeled=LABELED, noises=stacked)
    loss = sum((v[0] * (i + 1)).square().mean() for i, v in enumerate(out.values()))
    loss.backward()
    grads = {n: p.grad.clone() for n, p in head.named_parameters() if p.grad is not None}
    in_grads = [None if x.grad is None else x.grad.clone()
                for x in [*feats.values(), *preds.values(), cond]]

    head.zero_grad()
    feats2, preds2, cond2 = _inputs()
    ref = ref_mod.reference_refine(head, feats2, preds2, cond2, LABELED, per_pair)
    ref_loss = 0
    for i, (task, (logits, idx)) in enumerate(out.items()):
        expect = torch.cat([ref[(int(b), task)] for b in idx])
        torch.testing.assert_close(logits, expect, atol=1e-5, rtol=1e-5)
        ref_loss = ref_loss + (expect * (i + 1)).square().mean()
    # every labelled pair is there, nothing else
    assert sum(len(v[1]) for v in out.values()) == len(ref) == int(LABELED.sum())
    ref_loss.backward()
    for n, p in head.named_parameters():
        if n in grads:
            torch.testing.assert_close(p.grad, grads[n], atol=1e-5, rtol=1e-4,
                                       msg=f'gradient of {n}')
    for a, x in zip(in_grads, [*feats2.values(), *preds2.values(), cond2]):
        assert (a is None) == (x.grad is None)
        if a is not None:
            torch.testing.assert_close(x.grad, a, atol=1e-5, rtol=1e-4)
    # gradients flow into the diffused signal (feature: F_t; prediction: P_t)
    src = feats2 if diffuse == 'feature' else preds2
    assert src['semseg'].grad.abs().sum() > 0


def test_inference_noise_is_seeded_per_image_and_task():
    head = _head().eval()
    feats, preds, cond = _inputs(B=3)
    with torch.no_grad():
        a = head.refine(feats, preds, cond, sample_keys=[11, 22, 33])
        b = head.refine(feats, preds, cond, sample_keys=[11, 22, 33])
        # image 1 alone, same key: same output as inside the batch
        one = head.refine({t: v[1:2] for t, v in feats.items()},
                          {t: v[1:2] for t, v in preds.items()}, cond[1:2],
                          sample_keys=[22])
        c = head.refine(feats, preds, cond, sample_keys=[11, 99, 33])
    for t in TASKS:
        assert torch.equal(a[t][0], b[t][0])
        torch.testing.assert_close(one[t][0], a[t][0][1:2], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(c[t][0][1], a[t][0][1])
        torch.testing.assert_close(c[t][0][0], a[t][0][0])


def test_no_noise_ablation_is_deterministic_and_differs_from_noisy():
    head = _head(use_noise=False).train()
    feats, preds, cond = _inputs()
    o1 = head.refine(feats, preds, cond)
    o2 = head.refine(feats, preds, cond)
    noisy = _head(use_noise=True).train().refine(feats, preds, cond)
    for t in TASKS:
        assert torch.equal(o1[t][0], o2[t][0])
        assert not torch.allclose(o1[t][0], noisy[t][0])


def test_training_noise_follows_train_iter_buffer():
    head = _head().train()
    feats, preds, cond = _inputs()
    assert int(head.train_iter) == 0 and 'train_iter' in head.state_dict()
    with torch.no_grad():
        first = head.refine(feats, preds, cond)
        second = head.refine(feats, preds, cond)
        assert int(head.train_iter) == 2
        assert not torch.allclose(first['semseg'][0], second['semseg'][0])
        # "resume": restoring the counter reproduces the draws
        other = _head().train()
        other.load_state_dict(head.state_dict())
        other.train_iter.fill_(1)
        again = other.refine(feats, preds, cond)
    torch.testing.assert_close(again['semseg'][0], second['semseg'][0])


def test_schedule_config_reaches_the_scheduler():
    head = _head(scheduler=dict(type='DDIMScheduler', num_train_timesteps=3, eta=0.0),
                 num_inference_steps=1)
    assert type(head.scheduler).__name__ == 'DDIMScheduler'
    assert head.scheduler.num_inference_steps == 1 == head.num_inference_steps
    assert head.timesteps(training=False) == [2]
    assert head.timesteps(training=True) == [2, 1, 0]
    np.testing.assert_allclose(_head().scheduler.alphas_cumprod, [0.999, 0.98901],
                               rtol=1e-12)
    # the scheduler is no module: nothing of it enters the state dict
    assert not any('scheduler' in k for k in _head().state_dict())


def test_zero_touch_and_errors():
    head = _head()
    z = head.zero_touch(['sal'])
    assert float(z) == 0.0
    z.backward()
    assert head.final_convs['sal'].weight.grad is not None
    assert head.final_convs['semseg'].weight.grad is None
    with pytest.raises(ValueError, match='diffuse'):
        _head(diffuse='latent')
    with pytest.raises(ValueError, match='unknown task'):
        MultiTaskDenoiser(channels=8, tasks=dict(sem=3))
    with pytest.raises(TypeError, match='dropout_ratio'):
        MultiTaskDenoiser(channels=8, tasks=TASKS, dropout_ratio=0.1)
    feats, preds, cond = _inputs()
    with pytest.raises(ValueError, match='condition has 4 channels'):
        head.refine(feats, preds, cond[:, :4])


def test_official_denoiser_size():
    """Denoiser of the 5 PASCAL tasks at width 512 (no backbone): time embedding,
    5 input convs, 4 shared blocks, 5 task heads, 5 final convs."""
    tasks = dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1)
    head = MultiTaskDenoiser(tasks=tasks, channels=512)
    n = sum(p.numel() for p in head.parameters())
    conv3 = 512 * 512 * 9 + 512
    conv1 = 512 * 512 + 512
    temb = 256 * 512 + 512 + 512 * 512 + 512
    block = 2 * (512 * 2048 + 2048 + 2048 * 512 + 512) + 4 * 512 * 512 + 512 + 8 * 512
    finals = sum(512 * c + c for c in tasks.values())
    assert n == temb + 5 * conv3 + 4 * block + 5 * (conv1 + 3 * conv3) + finals


@pytest.mark.parametrize('diffuse', ['feature', 'prediction'])
def test_inference_chunk_gives_the_same_outputs(diffuse):
    """``inference_chunk`` bounds the peak memory and changes nothing else."""
    from mmdmtl.registry import MODELS
    torch.manual_seed(0)
    head = MODELS.build(dict(type='MultiTaskDenoiser',
                             tasks=dict(semseg=5, sal=2, depth=1),
                             channels=16, num_heads=2,
                             diffuse=diffuse)).eval()
    B = 3
    feats = {t: torch.randn(B, 16, 8, 8) for t in head.tasks}
    preds = {t: torch.randn(B, c, 8, 8) for t, c in head.tasks.items()}
    cond = torch.randn(B, 16, 8, 8)
    labeled = torch.tensor([[1, 0, 1], [1, 1, 1], [0, 1, 0]]).bool()
    with torch.no_grad():
        full = head.refine(feats, preds, cond, labeled=labeled,
                           sample_keys=[5, 6, 7])
        for chunk in (1, 2, 4, 100):
            head.inference_chunk = chunk
            part = head.refine(feats, preds, cond, labeled=labeled,
                               sample_keys=[5, 6, 7])
            assert set(part) == set(full)
            for t in full:
                assert torch.equal(part[t][1], full[t][1])
                torch.testing.assert_close(part[t][0], full[t][0], atol=1e-5,
                                           rtol=1e-5)
    with pytest.raises(ValueError, match='inference_chunk'):
        MODELS.build(dict(type='MultiTaskDenoiser', tasks=dict(sal=2),
                          channels=16, num_heads=2,
                          inference_chunk=0))


def test_time_embedding_follows_the_weight_dtype():
    from mmdmtl.models.diffusion.time_embedding import TimestepEmbedding
    emb = TimestepEmbedding(16, 8)
    t = torch.tensor([0, 1])
    ref = emb(t)
    out = emb.to(torch.bfloat16)(t)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=0.05, rtol=0.05)


def test_without_projection_refine_returns_the_refined_features():
    """``return_features=True`` (the mmseg adapter): no final convs; refine gives x0_hat,
    which the projecting denoiser's final conv maps to its logits."""
    proj = _head().eval()
    bare = _head(return_features=True).eval()
    assert not hasattr(bare, 'final_convs')
    missing, unexpected = bare.load_state_dict(proj.state_dict(), strict=False)
    assert not missing and all(k.startswith('final_convs.') for k in unexpected)
    feats, preds, cond = _inputs()
    with torch.no_grad():
        logits = proj.refine(feats, preds, cond, sample_keys=[1, 2, 3])
        refined = bare.refine(feats, preds, cond, sample_keys=[1, 2, 3])
    for t, c in TASKS.items():
        assert refined[t][0].shape == (3, C, 8, 8)
        torch.testing.assert_close(proj.final_convs[t](refined[t][0]), logits[t][0])
    z = bare.zero_touch(['sal'])
    z.backward()
    assert bare.task_heads['sal'][0].weight.grad is not None


def test_logit_residual_starts_at_the_initial_prediction_and_learns():
    """``logit_residual=True`` (ours, opt-in): refined logits = initial logits
    + a zero-initialised Conv1x1 of x0_hat, so at initialisation the refined
    output IS the initial prediction of every pair, in training and inference;
    the correction then receives gradient; and it stays off by default."""
    assert _head().logit_residual is False
    head = _head(logit_residual=True)
    feats, preds, cond = _inputs()
    for training in (True, False):
        head.train(training)
        out = head.refine(feats, preds, cond, labeled=LABELED,
                          sample_keys=[1, 2, 3])
        for ti, t in enumerate(TASKS):
            logits, idx = out[t]
            assert idx.tolist() == LABELED[:, ti].nonzero().squeeze(1).tolist()
            torch.testing.assert_close(logits, preds[t][idx], rtol=0, atol=0)
    head.train()
    out = head.refine(feats, preds, cond, labeled=LABELED)
    out['semseg'][0].square().sum().backward()
    assert head.final_convs['semseg'].weight.grad.abs().sum() > 0
    # the initial prediction receives the refined loss's gradient too
    assert preds['semseg'].grad.abs().sum() > 0
    with pytest.raises(ValueError,
                       match='logit_residual=True .* return_features=False'):
        _head(logit_residual=True, return_features=True)
