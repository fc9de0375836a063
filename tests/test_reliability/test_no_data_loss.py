"""Nothing of mmdmtl deletes or overwrites a file it did not write.

Each test builds a "user" folder (here a real-looking dataset in the NYUD_MT layout,
or a folder of the user's own files) under tmp_path, points a writer of mmdmtl at it,
and checks that the writer refuses with a message naming the folder and what is in
it, and that every file survives byte for byte (and that nothing was added)."""
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdmtl.utils.safe_output import OUTPUT_MARKER, OutputExistsError

REPO = Path(__file__).resolve().parents[2]



def _snapshot(root: Path) -> dict:
    """relative path -> sha256 of every file (and '<dir>/' for folders)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + '/'] = 'dir'
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(
                Path(p).read_bytes()).hexdigest()
    return out


@pytest.fixture
def user_nyud(tmp_path):
    """A user's dataset in the NYUD_MT layout (no manifest of mmdmtl)."""
    root = tmp_path / 'NYUD_MT'
    for sub, name, data in (('images', '0001.jpg', b'\xff\xd8user image\xff\xd9'),
                            ('segmentation', '0001.png', b'user label'),
                            ('normals', '0001.png', b'user normals'),
                            ('edge', '0001.png', b'user edge'),
                            ('gt_sets', 'train.txt', b'0001\n'),
                            ('gt_sets', 'val.txt', b'0002\n')):
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub / name).write_bytes(data)
    np.save(root / 'depth_0001.npy', np.ones((4, 4), np.float32))
    return root


def test_synthetic_generation_refuses_a_user_dataset(user_nyud):
    from mmdmtl.datasets import SyntheticScenesDataset
    before = _snapshot(user_nyud)
    with pytest.raises(OutputExistsError) as err:
        SyntheticScenesDataset(
            data_root=str(user_nyud), split='train',
            generate=dict(num_train=2, num_val=1, size=(16, 16)), pipeline=[])
    msg = str(err.value)
    assert str(user_nyud) in msg and 'gt_sets' in msg and 'images' in msg
    assert _snapshot(user_nyud) == before  # not even a lock file was added


def test_generation_into_empty_or_own_folder(tmp_path):
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path / 'empty'
    root.mkdir()
    assert generate_synthetic_scenes(str(root), 2, 1, (16, 16))
    assert (root / OUTPUT_MARKER).is_file()
    # a file the user put into the generated copy survives a regeneration
    keep = root / 'images' / 'my_notes.txt'
    keep.write_bytes(b'mine')
    assert generate_synthetic_scenes(str(root), 3, 1, (16, 16))
    assert keep.read_bytes() == b'mine'
    assert len(list((root / 'images').glob('train_*.png'))) == 3


def test_copy_generated_before_the_marker_is_still_ours(tmp_path):
    """A copy from an older mmdmtl (manifest.json, no marker) regenerates."""
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path / 'old'
    assert generate_synthetic_scenes(str(root), 2, 1, (16, 16))
    (root / OUTPUT_MARKER).unlink()
    assert generate_synthetic_scenes(str(root), 1, 1, (16, 16))


def test_split_file_writer_refuses_to_overwrite(tmp_path):
    from mmdmtl.datasets import write_split_file
    path = tmp_path / 'published.json'
    path.write_bytes(b'{"0": ["semseg"]}')
    m = np.ones((2, 1), bool)
    with pytest.raises(OutputExistsError, match='published.json'):
        write_split_file(str(path), m, ['a', 'b'], ['semseg'])
    assert path.read_bytes() == b'{"0": ["semseg"]}'
    write_split_file(str(path), m, ['a', 'b'], ['semseg'], overwrite=True)
    assert b'"a"' in path.read_bytes()


def test_make_partial_split_tool_refuses(tmp_path):
    sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
    import make_partial_split as mps
    out = tmp_path / 'split.json'
    out.write_bytes(b'user split')
    with pytest.raises(OutputExistsError, match='--overwrite'):
        mps.main(['generate', '--num-images', '4', '--tasks', 'semseg', 'depth',
                  '--setting', 'one_label', '--out', str(out)])
    assert out.read_bytes() == b'user split'


def test_cityscapes_converter_refuses_user_folder(tmp_path):
    import cv2
    sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
    from cityscapes_to_mtan import convert
    src = tmp_path / 'cityscapes'
    img_dir = src / 'leftImg8bit' / 'train' / 'aachen'
    img_dir.mkdir(parents=True)
    cv2.imwrite(str(img_dir / 'a_leftImg8bit.png'), np.zeros((8, 16, 3), np.uint8))
    dst = tmp_path / 'mine'
    (dst / 'train' / 'image').mkdir(parents=True)
    (dst / 'train' / 'image' / '0.npy').write_bytes(b'my converted image')
    before = _snapshot(dst)
    with pytest.raises(OutputExistsError, match='mine/train'):
        convert(str(src), str(dst), 'train')
    assert _snapshot(dst) == before


def test_browse_dataset_refuses_user_folder(tmp_path):
    sys.path.insert(0, str(REPO / 'tools' / 'misc'))
    import browse_dataset
    out = tmp_path / 'photos'
    out.mkdir()
    (out / '00000_x.png').write_bytes(b'holiday photo')
    before = _snapshot(out)
    cfg = REPO / 'configs' / '_base_' / 'datasets' / 'synthetic_scenes.py'
    with pytest.raises(OutputExistsError, match='--out-dir'):
        browse_dataset.main([str(cfg), '--out-dir', str(out), '--num', '1'])
    assert _snapshot(out) == before


def _ckpt(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, path)
    return path


@pytest.mark.parametrize('flag', ['--show-dir', '--out'])
def test_test_tool_refuses_user_output_folder(tmp_path, flag, load_tool):
    test_tool = load_tool('test.py')
    out = tmp_path / 'results'
    out.mkdir()
    (out / 'paper_figure.png').write_bytes(b'figure')
    before = _snapshot(out)
    cfg = REPO / 'configs' / 'diffusionmtl' / \
        'demo_diffusionmtl-feature_synthetic_one-label.py'
    args = test_tool.parse_args([str(cfg), str(_ckpt(tmp_path)), flag, str(out)])
    with pytest.raises(OutputExistsError, match=flag):
        test_tool.build_test_cfg(args)
    assert _snapshot(out) == before


def test_test_tool_refuses_existing_pkl(tmp_path, load_tool):
    test_tool = load_tool('test.py')
    pkl = tmp_path / 'preds.pkl'
    pkl.write_bytes(b'old results')
    cfg = REPO / 'configs' / 'diffusionmtl' / \
        'demo_diffusionmtl-feature_synthetic_one-label.py'
    args = test_tool.parse_args([str(cfg), str(_ckpt(tmp_path)), '--out', str(pkl)])
    with pytest.raises(OutputExistsError, match='--overwrite'):
        test_tool.build_test_cfg(args)
    assert pkl.read_bytes() == b'old results'


def test_visualization_hooks_refuse_user_folder(tmp_path):
    import types
    from mmdmtl.engine.hooks import (MultiTaskPredictionSaveHook,
                                     MultiTaskVisualizationHook)
    out = tmp_path / 'mine'
    out.mkdir()
    (out / 'a.png').write_bytes(b'x')
    runner = types.SimpleNamespace(work_dir=str(tmp_path))
    for hook in (MultiTaskPredictionSaveHook(out_dir=str(out)),
                 MultiTaskVisualizationHook(draw=True, out_dir=str(out))):
        with pytest.raises(OutputExistsError):
            hook.before_test(runner)
    assert _snapshot(out) == {'a.png': hashlib.sha256(b'x').hexdigest()}
    # a new folder is claimed (marked) and accepted again next time
    new = tmp_path / 'new'
    MultiTaskPredictionSaveHook(out_dir=str(new)).before_test(runner)
    MultiTaskPredictionSaveHook(out_dir=str(new)).before_test(runner)
    assert (new / OUTPUT_MARKER).is_file()
