"""The converter of published-code checkpoints, on the documented layout file.

The state dict is built from ../shared/data/official_checkpoint (every key, shape and
dtype of the released PASCAL checkpoint) with random values; the published schedule
tables get their float32 values.
"""
import importlib.util
import math

import numpy as np
import pytest
import torch

from mmdmtl.engine.checkpoint import (CheckpointMismatchError,
                                      check_checkpoint_fits)
from mmdmtl.models.official_checkpoint import (OfficialCheckpointError,
                                               convert_official_state_dict,
                                               map_key, published_schedule_tables,
                                               split_official_checkpoint)

LAYOUT = 'official_checkpoint/pascal_feature_r18_state_dict_keys.tsv'
DTYPES = dict(float32=torch.float32, int64=torch.int64)


def _layout(shared_data):
    rows = []
    for line in (shared_data / LAYOUT).read_text().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        key, shape, dtype = line.split('\t')
        shape = () if shape == 'scalar' else tuple(int(s) for s in shape.split('x'))
        rows.append((key, shape, DTYPES[dtype]))
    return rows


def _official_state_dict(shared_data, seed=0):
    g = torch.Generator().manual_seed(seed)
    tables = published_schedule_tables(2)
    sd = {}
    for key, shape, dtype in _layout(shared_data):
        name = key.rsplit('.', 1)[-1]
        if key.startswith('module.diffusion_model.') and name in tables:
            sd[key] = torch.from_numpy(tables[name]).float()
        elif dtype == torch.int64:
            sd[key] = torch.tensor(7)
        elif name == 'running_var':
            sd[key] = torch.rand(shape, generator=g) + 0.5
        else:
            sd[key] = torch.randn(shape, generator=g) * 0.02
    return sd


def _load_tool(repo_root):
    path = repo_root / 'tools/model_converters/official_to_mmdmtl.py'
    spec = importlib.util.spec_from_file_location('official_to_mmdmtl', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_layout_file_is_the_documented_one(shared_data):
    rows = _layout(shared_data)
    assert len(rows) == 410
    # 132,913,284 learnable parameters: everything but BN statistics and the
    # schedule tables
    tables = published_schedule_tables(2)
    learnable = [math.prod(s) for k, s, d in rows
                 if 'running_' not in k and 'num_batches' not in k
                 and k.rsplit('.', 1)[-1] not in tables]
    assert sum(learnable) == 132_913_284


def test_every_key_is_placed_and_the_pascal_model_loads_strictly(
        shared_data, repo_root, tmp_path, capsys):
    sd = _official_state_dict(shared_data)
    src = tmp_path / 'official.pth'
    torch.save(dict(model=sd, optimizer={}, scheduler={}, epoch=99, iter_count=83300),
               src)
    tool = _load_tool(repo_root)
    dst = tmp_path / 'mmdmtl.pth'
    assert tool.main([str(src), str(dst)]) == 0
    out = capsys.readouterr().out
    assert '410 keys read' in out and '12 schedule tables checked (T=2)' in out
    assert 'semseg=21, human_parts=7, sal=2, normals=3, edge=1' in out

    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['official_iter_count'] == 83300
    model = tool.build_model(tool.DEFAULT_CONFIG)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    # every tensor arrived unchanged under its new name
    stripped = {k[len('module.'):]: v for k, v in sd.items()}
    assert torch.equal(model.neck.fuse.weight, stripped['backbone_embed.weight'])
    assert torch.equal(model.conditioner.fuse.bias,
                       stripped['diffusion_model.pred_combinator.out_layer.bias'])
    blk = model.refine_head.blocks[2]
    pre = 'diffusion_model.denoiser.crossblocks.2.'
    assert torch.equal(blk.norm_q.weight, stripped[pre + 'norm1.weight'])
    assert torch.equal(blk.norm_task.bias, stripped[pre + 'norm2_kv.bias'])
    assert torch.equal(blk.norm_out.weight, stripped[pre + 'norm2.weight'])
    assert torch.equal(blk.mlp_task.fc2.weight, stripped[pre + 'mlp_kv.fc2.weight'])
    assert torch.equal(blk.attn.kv.weight, stripped[pre + 'attn.kv.weight'])
    assert torch.equal(model.refine_head.task_heads['edge'][5].weight,
                       stripped['diffusion_model.denoiser.task_heads.edge.5.weight'])
    assert torch.equal(model.init_heads.preds['sal'].weight,
                       stripped['preliminary_head.sal.0.weight'])
    # the published model's size, parameter for parameter
    assert sum(p.numel() for p in model.parameters()) == 132_913_284
    # a forward pass runs and gives every task
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert {k: tuple(v.shape[:2]) for k, v in logits.items()} == dict(
        semseg=(1, 21), human_parts=(1, 7), sal=(1, 2), normals=(1, 3), edge=(1, 1))
    assert all(torch.isfinite(v).all() for v in logits.values())
    # DST is never overwritten without --overwrite
    with pytest.raises(FileExistsError, match='--overwrite'):
        tool.main([str(src), str(dst)])


def test_prefix_optional_and_bare_state_dict(shared_data):
    sd = _official_state_dict(shared_data)
    bare = {k[len('module.'):]: v for k, v in sd.items()}
    a, _ = split_official_checkpoint(dict(model=sd, epoch=1))
    b, rest = split_official_checkpoint(bare)
    assert list(a) == list(b) and rest == {}
    with pytest.raises(OfficialCheckpointError, match='MMEngine checkpoint'):
        split_official_checkpoint(dict(state_dict=bare, meta={}))


def test_errors_name_the_keys(shared_data):
    sd, _ = split_official_checkpoint(_official_state_dict(shared_data))
    # a key of another variant
    other = dict(sd)
    other['diffusion_model.denoiser.pred_embed.semseg.weight'] = torch.zeros(1)
    with pytest.raises(OfficialCheckpointError,
                       match=r'1 key\(s\).*pred_embed\.semseg\.weight'):
        convert_official_state_dict(other)
    # a schedule of another chain
    wrong = dict(sd)
    wrong['diffusion_model.betas'] = torch.tensor([1e-4, 2e-2])
    with pytest.raises(OfficialCheckpointError, match='diffusion_model.betas'):
        convert_official_state_dict(wrong)


def test_another_task_set_is_named_against_the_model(shared_data):
    sd, _ = split_official_checkpoint(_official_state_dict(shared_data))
    conv, summary = convert_official_state_dict(sd)
    assert summary['tasks'] == dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1)

    class Fake(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.neck = torch.nn.Module()
            self.neck.fuse = torch.nn.Conv2d(960, 256, 3)

    with pytest.raises(CheckpointMismatchError) as e:
        check_checkpoint_fits(Fake(), conv, source='official', strict=True)
    msg = str(e.value)
    assert 'neck.fuse.weight (checkpoint [512, 960, 3, 3] vs model ' \
        '[256, 960, 3, 3])' in msg
    assert 'unexpected in the checkpoint' in msg


def test_map_key_examples():
    assert map_key('backbone.layer4.1.bn2.running_var') == \
        'backbone.layer4.1.bn2.running_var'
    assert map_key('preliminary_dec.normals.1.conv2.weight') == \
        'init_heads.blocks.normals.1.conv2.weight'
    assert map_key('diffusion_model.denoiser.final_task_heads.sal.linear_pred.bias') \
        == 'refine_head.final_convs.sal.bias'
    assert map_key('diffusion_model.denoiser.t_embedder.mlp.2.weight') == \
        'refine_head.time_embed.mlp.2.weight'
    assert map_key('something.else') is None


def test_published_tables_are_float64_values():
    t = published_schedule_tables(2)
    np.testing.assert_allclose(t['posterior_mean_coef1'][1], 0.90946, atol=1e-5)
    np.testing.assert_allclose(np.exp(0.5 * t['posterior_log_variance_clipped'][1]),
                               0.03016, atol=1e-5)
    assert t['posterior_variance'][0] == 0.0  # clipped to 1e-20 in the log table
    assert t['posterior_log_variance_clipped'][0] == pytest.approx(math.log(1e-20))
