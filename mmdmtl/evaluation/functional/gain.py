"""Multi-task gain Delta_m and the published single-task reference numbers.

Delta_m = (1 / T) * sum_t (-1)^{l_t} (M_t - M_stl,t) / M_stl,t * 100 [%], with
l_t = 1 when lower is better for metric t (Maninis et al. 2019; method.md).
"""
from typing import Dict, Mapping, Optional, Sequence

# Metric names (the part after the prefix) for which lower is better.
LOWER_IS_BETTER = frozenset({
    'mean', 'median', 'rmse', 'abs_err', 'abs_rel', 'log_rmse', 'sq_rel',
    'mErr', 'mean_err'
})

# Single-task (STL) baselines published by DiffusionMTL (ResNet-18), keyed by
# '<dataset>_<setting>'; keys are the metric names our metrics log with their
# default prefixes.
STL_REFERENCES: Dict[str, Dict[str, float]] = {
    'pascal_context_one_label': {
        'semseg/mIoU': 50.34,
        'human_parts/mIoU': 59.05,
        'sal/maxF': 77.43,
        'normals/mean': 16.59,
        'edge/odsF': 64.40,
    },
    'nyud_v2_one_label': {
        'semseg/mIoU': 45.28,
        'depth/abs_err': 0.4802,
        'normals/mean': 25.93,
    },
    'nyud_v2_random_label': {
        'semseg/mIoU': 48.25,
        'depth/abs_err': 0.4792,
        'normals/mean': 24.65,
    },
    'cityscapes': {
        'semseg/mIoU': 75.82,
        'depth/abs_err': 0.0125,
    },
}


def is_lower_better(key: str,
                    lower_is_better: Optional[Sequence[str]] = None) -> bool:
    """Whether the metric ``key`` ('prefix/name' or 'name') improves downwards.

    ``lower_is_better`` (full keys or bare names) overrides the built-in table.
    """
    if lower_is_better is not None:
        return key in lower_is_better or key.split('/')[-1] in lower_is_better
    return key.split('/')[-1] in LOWER_IS_BETTER


def resolve_reference(reference) -> Dict[str, float]:
    """A reference dict, or the name of a published one in ``STL_REFERENCES``."""
    if isinstance(reference, str):
        if reference not in STL_REFERENCES:
            raise KeyError(f'unknown single-task reference {reference!r}; known: '
                           f'{sorted(STL_REFERENCES)} (or give a dict '
                           "{'semseg/mIoU': 50.34, ...})")
        return dict(STL_REFERENCES[reference])
    if not isinstance(reference, Mapping) or not reference:
        raise TypeError('reference must be a non-empty dict {metric key: '
                        f'single-task value}} or a name, got {reference!r}')
    out = {}
    for k, v in reference.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f'reference value of {k!r} must be a number, got '
                             f'{v!r}') from None
        if out[str(k)] == 0:
            raise ValueError(f'reference value of {k!r} is 0: Delta_m divides '
                             'by it')
    return out


def multi_task_gain(results: Mapping[str, float],
                    reference,
                    lower_is_better: Optional[Sequence[str]] = None
                    ) -> Dict[str, float]:
    """Delta_m (percent) of ``results`` against single-task ``reference``.

    Args:
        results: metric values, e.g. {'semseg/mIoU': 57.8, 'normals/mean': 16.1}.
        reference: {key: single-task value} or a name in ``STL_REFERENCES``.
        lower_is_better: keys or names for which lower is better (default: the
            built-in ``LOWER_IS_BETTER`` names).

    Returns:
        {'delta_m': Delta_m, '<key>': per-task relative gain in percent, ...}.

    Raises:
        KeyError: a reference key is missing from ``results`` (lists both).
    """
    ref = resolve_reference(reference)
    missing = [k for k in ref if k not in results]
    if missing:
        raise KeyError(f'Delta_m needs {missing} but the results only have '
                       f'{sorted(results)}; check the metric prefixes or the '
                       'reference keys')
    gains = {}
    for k, m_stl in ref.items():
        sign = -1.0 if is_lower_better(k, lower_is_better) else 1.0
        gains[k] = sign * (float(results[k]) - m_stl) / m_stl * 100.0
    out = {'delta_m': sum(gains.values()) / len(gains)}
    out.update(gains)
    return out
