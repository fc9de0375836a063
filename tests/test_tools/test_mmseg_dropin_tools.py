"""The mmseg drop-in configs (configs/mmseg_dropin/) through our tools, as a user runs
them: tools/train.py, tools/test.py --show-dir, the mmseg inference snippet of
docs/mmseg_dropin.md, and demo/image_demo.py's pointer to it. Tiny widths, two
iterations; a second backbone (mmseg's MixVisionTransformer, three of its four
stages) exercises in_channels/in_index/fuse_index."""
import os
import re
import subprocess

import torch

from .conftest import REPO

DROPIN = REPO / 'configs' / 'mmseg_dropin' / \
    'diffusion-refine_r18-d8_synthetic-scenes-128x128.py'

TINY = """
_base_ = [{base!r}]
data_root = {root!r}
crop_size = (32, 32)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, {model})
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=2, by_epoch=False)]
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
"""
RESNET = ("backbone=dict(base_channels=8, stem_channels=8), decode_head=dict("
          "in_channels=[8, 16, 32, 64], channels=16, denoiser=dict(num_heads=2))")
# MiT stage widths are embed_dims x num_heads: 8, 16, 32, 64 at strides 4..32;
# the head takes stages 1-3 and fuses at the first of them (stride 8).
MIT = ("backbone=dict(_delete_=True, type='MixVisionTransformer', in_channels=3, "
       "embed_dims=8, num_stages=4, num_layers=[1, 1, 1, 1], "
       "num_heads=[1, 2, 4, 8], patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1], "
       "out_indices=(0, 1, 2, 3), mlp_ratio=2), decode_head=dict("
       "in_channels=[16, 32, 64], in_index=[1, 2, 3], fuse_index=0, channels=16, "
       "denoiser=dict(num_heads=2))")


def _train_and_test(tmp_path, tiny_data, tools, model):
    cfg = tmp_path / 'dropin_tiny.py'
    cfg.write_text(TINY.format(base=str(DROPIN), root=str(tiny_data), model=model))
    work = tmp_path / 'work'
    train = tools.run([tools.python, 'tools/train.py', str(cfg), '--work-dir',
                       str(work)])
    assert 'Iter(val) [2/2]' in train.stdout + train.stderr
    ckpt = work / 'iter_2.pth'
    # mmseg's BaseSegDataset on the generated folder: recorded as synthetic
    record = torch.load(ckpt, map_location='cpu')['meta']['dataset']
    assert record['name'] == 'BaseSegDataset' and record['synthetic']
    assert record['classes'][:2] == ['floor', 'wall']
    show = tmp_path / 'panels'
    test = tools.run([tools.python, 'tools/test.py', str(cfg), str(ckpt),
                      '--work-dir', str(work), '--show-dir', str(show)])
    assert re.search(r'Iter\(test\) \[2/2\].*mIoU: \d', test.stdout + test.stderr)
    panels = sorted(p.name for p in show.glob('*.png'))
    assert panels == [f'val_{i:06d}.png' for i in range(4)]
    return cfg, ckpt


def test_dropin_resnet_trains_tests_and_predicts_through_the_tools(
        tmp_path, tiny_data, tools):
    cfg, ckpt = _train_and_test(tmp_path, tiny_data, tools, RESNET)
    # the inference snippet of docs/mmseg_dropin.md, on this config/checkpoint
    doc = (REPO / 'docs' / 'mmseg_dropin.md').read_text()
    snippet = re.search(r'## Inference.*?```python\n(.*?)```', doc, re.S).group(1)
    img = tiny_data / 'images' / 'val_000000.png'
    for name, value in (('config_file', cfg), ('checkpoint_file', ckpt),
                        ('img', img)):
        snippet, n = re.subn(rf"^{name} = '[^']*'", f'{name} = {str(value)!r}',
                             snippet, flags=re.M)
        assert n == 1, name
    snippet += ('\nassert tuple(result.pred_sem_seg.data.shape) == (1, 32, 32)\n'
                "assert model.dataset_meta['classes'][0] == 'floor'\n"
                "print('snippet ok')\n")
    out = tools.run([tools.python, '-c', snippet], cwd=tmp_path)
    assert 'snippet ok' in out.stdout
    # the multi-task demo names the snippet instead of failing in a registry
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [tools.python, 'demo/image_demo.py', str(img), str(cfg), str(ckpt),
         '--out-dir', str(tmp_path / 'demo')], cwd=REPO, capture_output=True,
        text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert 'mmseg drop-in config' in proc.stderr
    assert 'docs/mmseg_dropin.md' in proc.stderr and 'Traceback' not in proc.stderr


def test_dropin_with_another_backbone_through_the_tools(tmp_path, tiny_data, tools):
    _train_and_test(tmp_path, tiny_data, tools, MIT)
