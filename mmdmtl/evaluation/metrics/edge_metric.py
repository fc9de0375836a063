"""Edge detection: odsF / oisF / AP with the BSDS protocol, in Python."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from mmdmtl.registry import METRICS
from ..functional import edge_pr_counts, edge_scores, edge_thresholds
from ..functional.edge import resolve_backend
from .base_dense_metric import BaseDenseMetric, _field, sample_name


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


@METRICS.register_module()
class EdgeMetric(BaseDenseMetric):
    """Edge odsF, oisF and AP (percent), BSDS protocol.

    For every threshold the probability map is binarised (``>= t``), thinned
    and matched one-to-one to the label's edge pixels within
    ``max_dist x image diagonal``; see ``mmdmtl.evaluation.functional.edge`` for
    the exact definitions of ODS, OIS and AP. Label pixels equal to
    ``ignore_index`` count neither as label nor as prediction.

    The matching runs inside ``process`` (each rank evaluates its own shard);
    the record per labelled sample is the four count vectors (O(thresholds)).

    Args:
        thresholds (int | list[float]): an int K gives the BSDS spacing
            ``linspace(1/(K+1), 1-1/(K+1), K)``; default 99 (0.01 .. 0.99).
            Evaluation time grows linearly with K.
        max_dist (float): matching radius as a fraction of the image diagonal:
            0.0075 for PASCAL-Context (default), 0.011 for NYUD-v2.
        thin (bool): thin the binarised maps (BSDS). Default True.
        backend (str): 'scipy' (default; exact maximum-cardinality matching,
            about 6x faster), 'pyedgeeval' (pyEdgeEval's port of the BSDS
            correspondPixels) or 'auto' (pyedgeeval when installed).
        ignore_index (int): ignored label value. Default 255.
        seism_dir (str, optional): also write every prediction as an 8-bit PNG
            ``<seism_dir>/<image name>.png`` (value = round(255 * prob)), the
            input of the MATLAB SEISM evaluation used by the published tables.
        online (bool): compute the scores here; False only writes the PNGs.
    """
    default_task = 'edge'

    def __init__(self,
                 thresholds: Union[int, Sequence[float]] = 99,
                 max_dist: float = 0.0075,
                 thin: bool = True,
                 backend: str = 'scipy',
                 ignore_index: int = 255,
                 seism_dir: Optional[str] = None,
                 online: bool = True,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(task=task, prefix=prefix, collect_device=collect_device)
        self.thresholds = edge_thresholds(thresholds)
        if not 0 < float(max_dist) < 1:
            raise ValueError(f'EdgeMetric max_dist is a fraction of the image '
                             f'diagonal (0.0075 PASCAL, 0.011 NYUD); got '
                             f'{max_dist}')
        self.max_dist = float(max_dist)
        self.thin = thin
        self.backend = resolve_backend(backend) if online else backend
        self.ignore_index = ignore_index
        self.seism_dir = seism_dir
        self.online = online
        if not online and seism_dir is None:
            raise ValueError('EdgeMetric(online=False) only makes sense with a '
                             'seism_dir to write the PNGs to')

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        if self.seism_dir is not None:
            self._write_pngs(data_samples)
        if self.online:
            super().process(data_batch, data_samples)
        else:
            self.results.extend(
                dict(counted=False, reason='online evaluation off')
                for _ in data_samples)

    def _write_pngs(self, data_samples: Sequence[Any]) -> None:
        import mmcv
        for ds in data_samples:
            pred = _field(ds, self.spec.pred_field)
            if pred is None:
                continue
            name = osp.splitext(osp.basename(sample_name(ds)))[0]
            prob = _to_numpy(pred).astype(np.float64).reshape(
                _to_numpy(pred).shape[-2:])
            img = np.round(np.clip(prob, 0, 1) * 255).astype(np.uint8)
            mmcv.imwrite(img, osp.join(self.seism_dir, name + '.png'))

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        out = []
        for p, g in zip(preds, gts):
            c = edge_pr_counts(_to_numpy(p), _to_numpy(g), self.thresholds,
                               self.max_dist, self.thin, self.ignore_index,
                               self.backend)
            out.append(dict(counted=True, **{k: v.astype(np.int64)
                                             for k, v in c.items()}))
        return out

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        if not self.online:
            return {}
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
            return dict(odsF=float('nan'), oisF=float('nan'), AP=float('nan'))
        stack = {k: np.stack([r[k] for r in rec]) for k in
                 ('cntR', 'sumR', 'cntP', 'sumP')}
        s = edge_scores(stack['cntR'], stack['sumR'], stack['cntP'],
                        stack['sumP'], self.thresholds)
        return dict(odsF=100.0 * s['odsF'], oisF=100.0 * s['oisF'],
                    AP=100.0 * s['AP'])
