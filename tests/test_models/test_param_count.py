"""The official model size: about 133M parameters with ResNet-18 on the 5 PASCAL
tasks (method.md). Builds the full-width model once on CPU (no weights loaded)."""
from pathlib import Path

from mmengine.config import Config

from mmdmtl.registry import MODELS

REPO = Path(__file__).resolve().parents[2]


def test_resnet18_pascal_is_133m_within_2_percent():
    cfg = Config.fromfile(REPO / 'configs/_base_/models/diffusionmtl_r18.py')
    cfg.model.tasks = dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor = None
    model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 133e6) / 133e6 < 0.02, n
    # the denoiser (refine head) is about half of it
    assert 30e6 < sum(p.numel() for p in model.refine_head.parameters()) < 80e6
    # the prediction variant adds only the 5 small embedding convs: one Conv3x3
    # with bias per task, its output channels -> the denoiser width
    cfg.model.refine_head.diffuse = 'prediction'
    pred = MODELS.build(cfg.model)
    width = cfg.model.channels
    embed = sum(c * width * 3 * 3 + width for c in cfg.model.tasks.values())
    assert embed == 159_232  # (21 + 7 + 2 + 3 + 1) * 512 * 9 + 5 * 512
    assert sum(p.numel() for p in pred.refine_head.embed_convs.parameters()) == \
        embed
    assert sum(p.numel() for p in pred.parameters()) - n == embed
