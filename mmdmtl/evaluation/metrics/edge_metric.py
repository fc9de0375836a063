"""Edge detection: odsF / oisF / AP with the BSDS protocol, in Python."""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from mmdmtl.registry import METRICS
from ..functional import edge_pr_counts, edge_scores, edge_thresholds
from ..functional.edge import resolve_backend
from .base_dense_metric import (BaseDenseMetric, NonFiniteMetricWarning,
                                _field, metric_warning, sample_name)


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _edge_record(args) -> Dict:
    """One labelled image's record (runs in the worker processes too)."""
    c = edge_pr_counts(*args)
    return dict(counted=True, **{k: v.astype(np.int64) for k, v in c.items()})


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def auto_num_workers(world_size: int = 1) -> int:
    """``num_workers='auto'``: half of this rank's share of the CPUs, at most 8,
    and none (in-process) below 4 CPUs per rank."""
    per_rank = usable_cpus() // max(1, int(world_size))
    return min(8, per_rank // 2) if per_rank >= 4 else 0


def make_pool(num_workers: int):
    """Worker processes for the edge counts (fork where the OS has it: the
    workers run numpy/numba code only, never CUDA)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
    return ProcessPoolExecutor(int(num_workers), mp_context=mp.get_context(method))


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
        num_workers (int | str): worker processes for the per-image counts.
            0 = in this process. With N > 0 ``process`` hands each labelled
            image to a pool of N processes and returns at once (the counts of
            up to 4N images are in flight; the model's next batch runs
            meanwhile); ``evaluate`` waits for them and closes the pool. The
            records and scores do not depend on N. 'auto' (default) = half of
            this rank's share of the CPUs, at most 8, and 0 below 4 CPUs per
            rank (see ``auto_num_workers``).
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
                 num_workers: Union[int, str] = 'auto',
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
        if num_workers != 'auto' and not (isinstance(num_workers, int)
                                          and num_workers >= 0):
            raise ValueError(f"EdgeMetric num_workers must be 'auto' or an int "
                             f'>= 0, got {num_workers!r}')
        self.num_workers = num_workers
        self._pool = None
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
        if not getattr(self, '_seism_claimed', False):
            from mmdmtl.utils.safe_output import claim_output_dir
            claim_output_dir(self.seism_dir, 'EdgeMetric', 'EdgeMetric seism_dir')
            self._seism_claimed = True
        for ds in data_samples:
            pred = _field(ds, self.spec.pred_field)
            if pred is None:
                continue
            name = osp.splitext(osp.basename(sample_name(ds)))[0]
            prob = _to_numpy(pred).astype(np.float64).reshape(
                _to_numpy(pred).shape[-2:])
            if not np.isfinite(prob).all():
                # a NaN map would be written as "no edge"; leave it out
                metric_warning(
                    f'EdgeMetric: {sample_name(ds)}: the prediction holds '
                    f'{int((~np.isfinite(prob)).sum())} NaN/inf values; its '
                    f'SEISM PNG is not written to {self.seism_dir}',
                    NonFiniteMetricWarning)
                continue
            img = np.round(np.clip(prob, 0, 1) * 255).astype(np.uint8)
            mmcv.imwrite(img, osp.join(self.seism_dir, name + '.png'))

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        jobs = [(_to_numpy(p), _to_numpy(g), self.thresholds, self.max_dist,
                 self.thin, self.ignore_index, self.backend)
                for p, g in zip(preds, gts)]
        n = self._workers()
        if n == 0:
            return [_edge_record(job) for job in jobs]
        if self._pool is None:
            self._pool = make_pool(n)
        # bound the images in flight (memory): wait for the oldest ones
        while len(self._in_flight) >= 4 * n:
            self._in_flight.pop(0).result()
        out = []
        for job in jobs:
            fut = self._pool.submit(_edge_record, job)
            self._in_flight.append(fut)
            out.append(dict(counted=True, _future=fut))
        return out

    # -- worker processes ---------------------------------------------------
    @property
    def _in_flight(self) -> list:
        if '_in_flight_list' not in self.__dict__:
            self._in_flight_list = []
        return self._in_flight_list

    def _workers(self) -> int:
        if self.num_workers == 'auto':
            from mmengine.dist import get_world_size
            self.num_workers = auto_num_workers(get_world_size())
        return int(self.num_workers)

    @staticmethod
    def _resolve_records(results: List[Dict]) -> None:
        """Replace the placeholders of images in the workers by their records."""
        for i, rec in enumerate(results):
            if isinstance(rec, dict) and '_future' in rec:
                results[i] = rec['_future'].result()

    def close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None
        self._in_flight.clear()

    def evaluate(self, size: int) -> Dict[str, float]:
        try:
            self._resolve_records(self.results)
        finally:
            self.close_pool()
        return super().evaluate(size)

    def __getstate__(self) -> Dict:
        state = self.__dict__.copy()
        state['_pool'] = None
        state.pop('_in_flight_list', None)
        return state

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        if not self.online:
            return {}
        self._resolve_records(results)
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
            return dict(odsF=float('nan'), oisF=float('nan'), AP=float('nan'))
        stack = {k: np.stack([r[k] for r in rec]) for k in
                 ('cntR', 'sumR', 'cntP', 'sumP')}
        if not stack['sumR'].any():
            # The NaN rule of every metric: nothing to recall (all ignore, or
            # no edge pixel anywhere) is NaN, never a 0.0 score (the base
            # class warns).
            return dict(odsF=float('nan'), oisF=float('nan'), AP=float('nan'))
        s = edge_scores(stack['cntR'], stack['sumR'], stack['cntP'],
                        stack['sumP'], self.thresholds)
        return dict(odsF=100.0 * s['odsF'], oisF=100.0 * s['oisF'],
                    AP=100.0 * s['AP'])
