import copy

import pytest
import torch

from mmdmtl.registry import MODELS
from mmdmtl.structures import TASKS

ONE_LABEL = [['semseg'], ['sal'], ['normals'], ['edge'], ['human_parts'], ['semseg']]
RANDOM_LABEL = [['semseg', 'sal'], ['normals', 'edge', 'human_parts'],
                ['semseg', 'normals'], ['sal', 'edge', 'semseg', 'normals']]


def _build(helpers, seed=0, **kw):
    torch.manual_seed(seed)
    return MODELS.build(helpers['tiny_model_cfg'](**kw))


def test_loss_keys_and_partial_label_weighting(model_helpers):
    model = _build(model_helpers).train()
    inputs, samples = model_helpers['make_batch'](RANDOM_LABEL, size=32)
    losses = model.loss(inputs, samples)
    for t in TASKS:
        if t == 'depth':
            assert not any(k.startswith('depth.') for k in losses)
            continue
        assert {f'{t}.loss_final', f'{t}.loss_init', f'{t}.num_labeled'} <= set(losses)
    assert float(losses['semseg.num_labeled']) == 3
    assert float(losses['human_parts.num_labeled']) == 1
    assert all(torch.isfinite(v) for v in losses.values())
    assert float(losses['semseg.loss_final']) > 0


# the second batch has no edge label: that task's loss is a parameter zero-touch
NO_EDGE_LABEL = [['semseg', 'sal'], ['normals', 'human_parts'], ['semseg'],
                 ['sal', 'normals']]


@pytest.mark.parametrize('rows', [RANDOM_LABEL, NO_EDGE_LABEL],
                         ids=['random-label', 'no-edge-label'])
@pytest.mark.parametrize('diffuse', ['feature', 'prediction'])
def test_batched_loss_equals_per_sample_reference(model_helpers, diffuse, rows):
    """Outputs and gradients of the batched model equal the per-sample loop."""
    torch.set_default_dtype(torch.float32)
    ref_mod = model_helpers['load_reference']()
    model = _build(model_helpers, diffuse=diffuse, token_stride=2)
    # published: saliency balanced per image, so the per-image reference is exact
    assert model.task_losses['sal'].balance == 'sample'
    model.train()
    # BN statistics would change between the two passes: freeze them
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    inputs, samples = model_helpers['make_batch'](rows, size=32)
    tasks = model.task_names
    head = model.refine_head
    g = torch.Generator().manual_seed(5)
    B = len(samples)
    per_pair = {(b, t): [torch.randn(1, 16, 4, 4, generator=g) for _ in range(2)]
                for b in range(B) for t in tasks if t in rows[b]}
    order = [(b, t) for t in tasks for b in range(B) if t in rows[b]]
    stacked = [torch.cat([per_pair[p][k] for p in order]) for k in range(2)]
    head._training_noise = lambda shape, ref, n: [s.to(ref) for s in stacked]

    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad()
    ref_total = ref_mod.reference_loss(model, inputs, samples, per_pair)
    torch.testing.assert_close(total, ref_total, atol=1e-5, rtol=1e-5)
    ref_total.backward()
    n_checked = 0
    for n, p in model.named_parameters():
        if n in grads:
            # a task without labels is outside the reference's graph: grad None = 0
            ref_grad = p.grad if p.grad is not None else torch.zeros_like(p)
            torch.testing.assert_close(ref_grad, grads[n], atol=1e-5, rtol=1e-4,
                                       msg=f'gradient of {n}')
            n_checked += 1
    assert n_checked > 50
    # the final loss reaches the backbone (gradients flow into F_t)
    assert sum(float(p.grad.abs().sum()) for p in model.backbone.parameters()) > 0


def test_task_without_labels_gets_zero_loss_touching_its_parameters(model_helpers):
    model = _build(model_helpers).train()
    inputs, samples = model_helpers['make_batch']([['semseg'], ['sal']], size=32)
    losses = model.loss(inputs, samples)
    assert float(losses['edge.loss_final']) == 0.0
    assert float(losses['edge.loss_init']) == 0.0
    assert float(losses['edge.num_labeled']) == 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    head = model.refine_head
    # every parameter took part in the graph (DDP without find_unused_parameters)
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert unused == []
    assert float(head.final_convs['edge'].weight.grad.abs().sum()) == 0.0
    edge_params = [(name, p) for name, p in model.init_heads.named_parameters()
                   if '.edge.' in name]
    assert len(edge_params) > 2  # the blocks' and the 1x1's parameters
    for name, p in edge_params:
        assert float(p.grad.abs().sum()) == 0.0, name
    assert float(model.init_heads.preds['sal'].weight.grad.abs().sum()) > 0.0
    assert float(head.final_convs['semseg'].weight.grad.abs().sum()) > 0.0


def test_predict_fills_every_task_with_the_right_format(model_helpers):
    model = _build(model_helpers).eval()
    inputs, samples = model_helpers['make_batch']([['semseg'], ['sal']], size=32)
    # image 1 was padded from 24x28 and originally 48x56
    samples[1].set_metainfo(dict(img_shape=(24, 28), ori_shape=(48, 56)))
    with torch.no_grad():
        out = model.predict(inputs, copy.deepcopy(samples))
        again = model.predict(inputs, copy.deepcopy(samples))
    for i, s in enumerate(out):
        H, W = (32, 32) if i == 0 else (48, 56)
        seg = s.pred_sem_seg.data
        assert seg.shape == (1, H, W) and seg.dtype == torch.int64
        assert 0 <= int(seg.min()) and int(seg.max()) < 5
        assert s.pred_part_seg.data.shape == (1, H, W)
        for name in ('pred_sal_map', 'pred_edge_map'):
            p = getattr(s, name).data
            assert p.shape == (1, H, W) and p.dtype == torch.float32
            assert float(p.min()) >= 0 and float(p.max()) <= 1
        n = s.pred_normal_map.data
        assert n.shape == (3, H, W)
        torch.testing.assert_close(n.norm(dim=0), torch.ones(H, W), atol=1e-4,
                                   rtol=0)
        # reproducible: noise is seeded per image
        assert torch.equal(again[i].pred_sal_map.data, s.pred_sal_map.data)
    tensors = model(inputs, mode='tensor')
    assert set(tensors) == set(model.task_names)
    assert tensors['semseg'].shape == (2, 5, 32, 32)


@pytest.mark.parametrize('setting,kw', [
    ('one', dict(diffuse='feature')),
    ('one', dict(diffuse='prediction')),
    ('random', dict(diffuse='feature')),
    ('random', dict(diffuse='prediction')),
    ('one', dict(refine=False, conditioner=False)),  # MTL baseline
    ('one', dict(conditioner=False)),  # w/o MTC
    ('one', dict(use_noise=False)),  # w/o diffusion
    ('one', dict(tasks=dict(semseg=5))),  # single task
])
def test_training_steps_reduce_the_loss_on_a_fixed_batch(model_helpers, setting, kw):
    from mmengine.optim import OptimWrapper
    model = _build(model_helpers, **kw).train()
    tasks = list(model.task_names)
    rows = ONE_LABEL if setting == 'one' else RANDOM_LABEL
    rows = [[t for t in r if t in tasks] or [tasks[0]] for r in rows][:4]
    inputs, samples = model_helpers['make_batch'](rows, size=32)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3),
                         clip_grad=dict(max_norm=10))
    first = last = None
    for it in range(12):
        losses = model.loss(inputs, samples)
        total, _ = model.parse_losses(losses)
        optim.update_params(total)
        first = float(total) if first is None else first
        last = float(total)
    assert last < 0.75 * first, (first, last)


def test_config_errors(model_helpers):
    cfg = model_helpers['tiny_model_cfg']()
    with pytest.raises(ValueError, match='unknown task'):
        MODELS.build(dict(cfg, tasks=dict(semseg=3, sky=2)))
    with pytest.raises(ValueError, match=r"losses given for task\(s\) \['depth'\]"):
        MODELS.build(dict(cfg, losses=dict(depth=dict(type='DepthL1Loss'))))
    with pytest.raises(ValueError, match='loss_weights'):
        MODELS.build(dict(cfg, loss_weights=dict(sky=1.0)))
    for bad in (dict(loss_weights=dict(sal=-1.0)),
                dict(loss_weights=dict(semseg=float('nan'))),
                dict(init_loss_weight=-0.5)):
        with pytest.raises(ValueError, match=r'finite and >= 0.*model\.loss_weights'):
            MODELS.build(dict(cfg, **bad))
    # weights of tasks the model lacks are ignored (shared base configs)
    m = MODELS.build(dict(cfg, loss_weights=dict(depth=3.0, sal=2.0)))
    assert m.loss_weights['sal'] == 2.0 and 'depth' not in m.loss_weights
    model = MODELS.build(cfg)
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(torch.zeros(1, 3, 32, 32), mode='train')


def test_task_table_is_the_single_source(model_helpers):
    """Loss weights, result keys, palette keys come from TaskSpec; dead model
    options are errors that name the key."""
    from mmdmtl.datasets.transforms import RESULT_KEYS
    from mmdmtl.models.segmentors.multi_task_encoder_decoder import \
        DEFAULT_LOSS_WEIGHTS
    from mmdmtl.registry import MODELS
    from mmdmtl.structures import TASKS
    assert DEFAULT_LOSS_WEIGHTS == dict(semseg=1.0, human_parts=2.0, sal=5.0,
                                        normals=10.0, edge=50.0, depth=1.0)
    assert RESULT_KEYS == {t: s.result_key for t, s in TASKS.items()}
    assert RESULT_KEYS['semseg'] == 'gt_seg_map'  # mmseg's, for its transforms
    assert len(set(RESULT_KEYS.values())) == len(TASKS)
    assert {t: s.palette_key for t, s in TASKS.items() if s.palette_key} == dict(
        semseg='palette', human_parts='part_palette')
    cfg = model_helpers['tiny_model_cfg'](refine=False, conditioner=False)
    MODELS.build(dict(cfg, test_cfg=dict(mode='whole', output='initial')))
    with pytest.raises(ValueError, match=r"train_cfg=\{'x': 1\} has no effect"):
        MODELS.build(dict(cfg, train_cfg=dict(x=1)))
    with pytest.raises(ValueError, match="whole-image inference is the only mode"):
        MODELS.build(dict(cfg, test_cfg=dict(mode='slide', crop_size=(8, 8))))
