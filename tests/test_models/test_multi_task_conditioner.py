import pytest
import torch

from mmdmtl.models.conditioners import MultiTaskConditioner

TASKS = dict(semseg=5, sal=2, normals=3)


def test_prediction_source_uses_all_tasks_detached():
    m = MultiTaskConditioner(TASKS, channels=8)
    assert m.fuse.in_channels == 10
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
    assert m.fuse.in_channels == 18
    feats = {t: torch.randn(1, 6, 4, 4, requires_grad=True) for t in TASKS}
    m(feats, None).sum().backward()
    assert feats['sal'].grad is not None


def test_published_bare_conv_kaiming_fan_out_zero_bias():
    torch.manual_seed(0)
    m = MultiTaskConditioner(dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1))
    assert type(m.fuse) is torch.nn.Conv2d
    assert m.fuse.weight.shape == (512, 34, 3, 3)
    assert sorted(m.state_dict()) == ['fuse.bias', 'fuse.weight']
    assert float(m.fuse.bias.abs().max()) == 0.0
    # kaiming normal, fan_out = 512 * 9, gain sqrt(2): std = sqrt(2 / 4608)
    assert float(m.fuse.weight.std()) == pytest.approx((2 / 4608)**0.5, rel=0.02)
    # no norm, no activation: the condition keeps its negative half
    preds = {t: torch.randn(1, c, 4, 4) for t, c in m.tasks.items()}
    out = m(None, preds)
    assert float((out < 0).float().mean()) > 0.3
    bn = MultiTaskConditioner(TASKS, channels=8, norm_cfg=dict(type='BN'),
                              act_cfg=dict(type='ReLU'))
    assert hasattr(bn.fuse, 'conv') and hasattr(bn.fuse, 'bn')


def test_errors():
    with pytest.raises(ValueError, match='source'):
        MultiTaskConditioner(TASKS, source='image')
    m = MultiTaskConditioner(TASKS, channels=8)
    with pytest.raises(KeyError, match=r"\['normals'\]"):
        m(None, {'semseg': torch.zeros(1, 5, 2, 2), 'sal': torch.zeros(1, 2, 2, 2)})
