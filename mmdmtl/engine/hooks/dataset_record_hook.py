"""``DatasetRecordHook``: a checkpoint says which dataset it was trained on."""
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.hooks import Hook

from mmdmtl.registry import HOOKS

SYNTHETIC_NOTE = (
    'was trained on SyntheticScenes, generated rooms of boxes, spheres and '
    'figures: on real photos its predictions are not meaningful (train on your '
    'data, docs/customize_datasets.md, or use the official checkpoints, '
    'docs/results.md)')


def describe_training_set(dataset: Any) -> Dict[str, Any]:
    """``name`` (the dataset class; several for a wrapper), ``classes`` (the
    semantic classes, if any), ``data_root`` and ``synthetic`` (whether it is
    mmdmtl's generated SyntheticScenes: its class, or a folder holding the
    generator's manifest.json, as the mmseg drop-in quick start reads it)."""
    from mmdmtl.datasets.synthetic import is_synthetic_root
    from mmdmtl.utils.config_checks import unwrap_dataset
    leaves = unwrap_dataset(dataset)
    names = [type(d).__name__ for d in leaves]
    roots = [str(getattr(d, 'data_root', '') or '') for d in leaves]
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    synthetic = any(n == 'SyntheticScenesDataset' or (r and is_synthetic_root(r))
                    for n, r in zip(names, roots))
    return dict(
        name=names[0] if len(names) == 1 else names,
        classes=list(classes) if classes is not None else None,
        data_root=[osp.abspath(r) if r else r for r in roots]
        if len(roots) > 1 else (osp.abspath(roots[0]) if roots[0] else ''),
        synthetic=bool(synthetic))


def synthetic_training_note(meta: Optional[dict]) -> Optional[str]:
    """The warning for a checkpoint trained on SyntheticScenes (None otherwise),
    from its ``meta``."""
    record = (meta or {}).get('dataset') or {}
    return SYNTHETIC_NOTE if record.get('synthetic') else None


@HOOKS.register_module()
class DatasetRecordHook(Hook):
    """Write ``meta['dataset']`` (:func:`describe_training_set` of the training
    split) into every checkpoint, so that the inferencer and the demo can say what
    a model was trained on. MMEngine's ``meta['dataset_meta']`` holds the metainfo
    only, not which dataset it was. ``tools/train.py`` adds this hook."""
    priority = 'NORMAL'

    def __init__(self) -> None:
        self._record = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        loader = runner.train_dataloader
        if loader is None:
            return
        if self._record is None:
            self._record = describe_training_set(loader.dataset)
        checkpoint.setdefault('meta', {})['dataset'] = dict(self._record)
