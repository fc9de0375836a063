"""Small helpers shared by the model modules."""
import zlib
from typing import Dict, Iterable, Mapping, Optional, Sequence

import torch

from mmdmtl.structures import check_task_names


def check_task_channels(tasks: Mapping[str, int], where: str) -> Dict[str, int]:
    """Validate a ``dict(task=out_channels)`` config entry (order kept)."""
    if not isinstance(tasks, Mapping) or not tasks:
        raise ValueError(f'{where}: tasks must be a non-empty dict task -> output '
                         f'channels, got {tasks!r}')
    check_task_names(tasks.keys(), where=where)
    bad = {k: v for k, v in tasks.items() if not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f'{where}: output channels must be positive ints, got {bad}')
    return dict(tasks)


def scoped_type(cfg: Optional[dict], scope: str = 'mmdmtl') -> Optional[dict]:
    """Copy of a config whose unscoped ``type`` is given our scope prefix.

    Our modules also live inside models built in scope ``mmseg`` (the drop-in
    decode head); there an unprefixed name would be looked up in mmseg's registry.
    """
    if cfg is None:
        return None
    cfg = dict(cfg)
    t = cfg.get('type')
    if isinstance(t, str) and '.' not in t:
        cfg['type'] = f'{scope}.{t}'
    return cfg


def sample_seed_keys(metainfos: Sequence[Mapping]) -> list:
    """A stable integer per image, used to seed its inference noise.

    The key is the CRC32 of the image file name (independent of the data root and of
    the batch it lands in); else its ``sample_idx``; else its position in the batch.
    """
    keys = []
    for i, meta in enumerate(metainfos):
        path = meta.get('img_path') if meta is not None else None
        if path:
            name = str(path).replace('\\', '/').rsplit('/', 1)[-1]
            keys.append(zlib.crc32(name.encode('utf-8')))
        elif meta is not None and meta.get('sample_idx') is not None:
            keys.append(int(meta['sample_idx']))
        else:
            keys.append(i)
    return keys


def zero_touch(modules: Iterable) -> Optional[torch.Tensor]:
    """0 x the sum of every trainable parameter of ``modules`` (None entries
    skipped): a zero loss that keeps those parameters in the graph, as DDP without
    ``find_unused_parameters`` needs, without a backward pass through them. None
    when there is no trainable parameter."""
    params = [p for m in modules if m is not None for p in m.parameters()
              if p.requires_grad]
    if not params:
        return None
    return sum(p.sum() for p in params) * 0.0
