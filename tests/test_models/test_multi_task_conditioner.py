import pytest
import torch

from mmdmtl.models.conditioners import MultiTaskConditioner

TASKS = dict(semseg=5, sal=2, normals=3)


def test_prediction_source_uses_all_tasks_detached():
    m = MultiTaskConditioner(TASKS, channels=8)
    assert m.fuse.conv.in_channels == 10
    preds = {t: torch.randn(2, c, 4, 4, requires_grad=True) for t, c in TASKS.items()}
    out = m(None, preds)
    assert out.shape == (2, 8, 4, 4)
    out.sum().backward()
    assert all(p.grad is None for p in preds.values())
    # every task shapes the condition
    preds2 = {t: v.detach().clone() for t, v in preds.items()}
    preds2['normals'] += 1
    m.eval()
    assert not torch.allclose(m(None, preds), m(None, preds2))


def test_feature_source_and_no_detach():
    m = MultiTaskConditioner(TASKS, channels=8, source='feature',
                             feature_channels=6, detach=False)
    assert m.fuse.conv.in_channels == 18
    feats = {t: torch.randn(1, 6, 4, 4, requires_grad=True) for t in TASKS}
    m(feats, None).sum().backward()
    assert feats['sal'].grad is not None


def test_errors():
    with pytest.raises(ValueError, match='source'):
        MultiTaskConditioner(TASKS, source='image')
    m = MultiTaskConditioner(TASKS, channels=8)
    with pytest.raises(KeyError, match=r"\['normals'\]"):
        m(None, {'semseg': torch.zeros(1, 5, 2, 2), 'sal': torch.zeros(1, 2, 2, 2)})
