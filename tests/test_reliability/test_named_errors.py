"""Errors that name the file/key/value and the fix (docs/failure_modes.md): resume
on a damaged last checkpoint, class labels beyond the model's classes, metric
shape mismatches, batch-1 BatchNorm, a drop-in head with the wrong in_channels."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from mmdmtl.engine.work_dir import intact_checkpoints, resume_checkpoint
from mmdmtl.structures import MultiTaskDataSample

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'


def _work_dir_with_damaged_last(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    for it in (2, 4):
        torch.save({'meta': dict(iter=it), 'state_dict': {'w': torch.ones(500)}},
                   work / f'iter_{it}.pth')
    whole = (work / 'iter_4.pth').read_bytes()
    (work / 'iter_6.pth').write_bytes(whole[:len(whole) // 2])  # killed copy
    (work / 'last_checkpoint').write_text(str(work / 'iter_6.pth'))
    return work


def test_resume_names_the_damaged_checkpoint_and_the_intact_one(tmp_path):
    work = _work_dir_with_damaged_last(tmp_path)
    assert intact_checkpoints(str(work)) == [str(work / 'iter_4.pth'),
                                             str(work / 'iter_2.pth')]
    with pytest.raises(ValueError) as err:
        resume_checkpoint(str(work))
    msg = str(err.value)
    assert str(work / 'iter_6.pth') in msg and 'truncated' in msg
    assert f'--resume {work / "iter_4.pth"}' in msg and '--resume-intact' in msg
    assert resume_checkpoint(str(work), use_intact=True) == str(
        work / 'iter_4.pth')
    # an intact pointer is used as it is; an empty one is named
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    assert resume_checkpoint(str(work)) == str(work / 'iter_2.pth')
    (work / 'last_checkpoint').write_text('')
    with pytest.raises(ValueError, match='is empty'):
        resume_checkpoint(str(work))


def test_train_tool_resume_on_a_damaged_checkpoint_one_line(tmp_path):
    work = _work_dir_with_damaged_last(tmp_path)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(DEMO_CONFIG), '--work-dir',
         str(work), '--resume'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert 'iter_6.pth' in first and 'iter_4.pth' in first
    assert '--resume-intact' in first


def test_class_label_beyond_the_model_classes_is_named():
    from mmdmtl.models.segmentors.multi_task_encoder_decoder import \
        check_class_labels
    target = torch.zeros(2, 1, 4, 4, dtype=torch.long)
    target[1, 0, 2, 2] = 8
    target[0, 0, 0, 0] = 255  # ignore is fine
    samples = [MultiTaskDataSample(metainfo=dict(img_path=p))
               for p in ('a.png', 'b.png')]
    check_class_labels('semseg', target.clamp(max=7) * (target != 255) +
                       255 * (target == 255), 8, samples)
    with pytest.raises(ValueError) as err:
        check_class_labels('semseg', target, 8, samples)
    msg = str(err.value)
    assert "task 'semseg'" in msg and 'label value 8' in msg and 'b.png' in msg
    assert 'model.tasks.semseg' in msg


def test_metric_shape_mismatch_names_image_and_task():
    from mmdmtl.evaluation.metrics import SemSegMetric
    ds = MultiTaskDataSample(metainfo=dict(img_path='img_3.png',
                                           labeled_tasks=('semseg', )))
    ds.set_gt('semseg', torch.zeros(1, 4, 4, dtype=torch.long))
    ds.set_pred('semseg', torch.zeros(2, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError) as err:
        SemSegMetric(num_classes=3).process({}, [ds.to_dict()])
    msg = str(err.value)
    assert "task 'semseg'" in msg and 'img_3.png' in msg and 'shape' in msg


def test_batch_one_batchnorm_names_the_layer():
    from mmdmtl.engine.hooks import TrainCheckHook
    from mmdmtl.utils.config_checks import ConfigCheckError
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4), nn.BatchNorm2d(4))
    hook = TrainCheckHook()
    hook._guard_batch_norm(model)
    model.train()
    with pytest.raises(ConfigCheckError) as err:
        model(torch.randn(1, 3, 4, 4))  # -> [1, 4, 1, 1]
    msg = str(err.value)
    assert "BatchNorm layer '1'" in msg and 'train_dataloader.batch_size' in msg
    model(torch.randn(2, 3, 4, 4))  # two values per channel: fine
    hook.after_train(None)


def test_dropin_head_with_wrong_in_channels_names_them():
    from mmdmtl.models.decode_heads import DiffusionRefinementHead
    head = DiffusionRefinementHead(
        in_channels=[8, 16], in_index=[0, 1], input_transform='resize_concat',
        fuse_index=1, channels=16, num_classes=3, denoiser=dict(num_heads=2))
    head.eval()
    maps = [torch.randn(1, 8, 8, 8), torch.randn(1, 32, 4, 4)]
    with pytest.raises(ValueError) as err, torch.no_grad():
        head(maps)
    msg = str(err.value)
    assert 'in_channels=24' in msg and '[8, 32]' in msg  # 8 + 16 expected
    assert 'decode_head.in_channels=[8, 32]' in msg
