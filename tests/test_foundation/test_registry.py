import importlib

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmdmtl import registry as R


@pytest.mark.parametrize('name', [
    'MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'METRICS', 'HOOKS',
    'VISUALIZERS', 'VISBACKENDS', 'INFERENCERS', 'LOOPS', 'EVALUATOR'
])
def test_child_registries_have_scope_parent_and_importable_locations(name):
    reg = getattr(R, name)
    assert reg.scope == 'mmdmtl'
    assert reg.parent is not None and reg.parent.scope == 'mmengine'
    assert reg._locations, f'{name} has no locations'
    for loc in reg._locations:
        importlib.import_module(loc)


def test_default_scope_is_mmdmtl():
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmdmtl'


def test_config_builds_mmseg_and_mmpretrain_backbones_from_our_scope():
    import torch
    cfg = Config(dict(
        seg=dict(type='mmseg.ResNetV1c', depth=18, init_cfg=None),
        pre=dict(type='mmpretrain.ResNet', depth=18, out_indices=(0, 1, 2, 3))))
    with DefaultScope.overwrite_default_scope('mmdmtl'):
        seg = R.MODELS.build(cfg.seg)
        pre = R.MODELS.build(cfg.pre)
    assert type(seg).__module__.startswith('mmseg.')
    assert type(pre).__module__.startswith('mmpretrain.')
    x = torch.zeros(1, 3, 64, 64)
    assert [f.shape[1] for f in seg(x)] == [64, 128, 256, 512]
    assert [f.shape[1] for f in pre(x)] == [64, 128, 256, 512]


def test_unprefixed_sibling_type_is_not_found():
    with DefaultScope.overwrite_default_scope('mmdmtl'):
        with pytest.raises(KeyError, match='ResNetV1c'):
            R.MODELS.build(dict(type='ResNetV1c', depth=18))


def _registries():
    from mmengine.registry import Registry
    return {n: r for n, r in vars(R).items() if isinstance(r, Registry)}


def test_every_member_is_found_through_its_registry_locations(tmp_path):
    """Every member of every mmdmtl registry lives under one of that registry's
    ``locations``, and a fresh process that imports only ``mmdmtl.registry``
    finds it by name (the locations import its module)."""
    import json
    import subprocess
    import sys

    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import mmdmtl.apis  # noqa: F401  (the INFERENCERS' location)
    members, misplaced = {}, []
    for name, reg in _registries().items():
        for key, cls in reg.module_dict.items():
            mod = getattr(cls, '__module__', '')
            if not mod.startswith('mmdmtl.'):
                continue  # registered by a test
            members.setdefault(name, []).append(key)
            if not any(mod == loc or mod.startswith(loc + '.')
                       for loc in reg._locations):
                misplaced.append(f'{name}.{key} ({mod}) not under {reg._locations}')
    assert not misplaced, '\n'.join(misplaced)
    assert {'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS',
            'MODEL_WRAPPERS', 'INFERENCERS'} <= set(members)

    script = tmp_path / 'fresh.py'
    script.write_text(
        'import json, sys\n'
        'from mmdmtl import registry as R\n'
        'members = json.loads(sys.argv[1])\n'
        'missing = [f"{n}.{k}" for n, keys in members.items() for k in keys\n'
        '           if getattr(R, n).get(k) is None]\n'
        'print(json.dumps(missing))\n')
    out = subprocess.run([sys.executable, str(script), json.dumps(members)],
                         capture_output=True, text=True, timeout=300,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
