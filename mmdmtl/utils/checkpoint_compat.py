"""Let torch >= 2.6 load the checkpoints that mmdmtl (through MMEngine) writes.

torch 2.6 made ``torch.load(weights_only=True)`` the default. MMEngine 0.10.7 calls
``torch.load`` without ``weights_only``, and its resume checkpoints hold a
``message_hub`` full of ``HistoryBuffer`` objects and numpy scalars, which the
weights-only unpickler refuses ("Unsupported global ... HistoryBuffer"). Rather than
turning the safety check off (a process-wide environment variable), we allow exactly the
types MMEngine's own checkpoints contain.
"""
import numpy as np
import torch


def _numpy_globals():
    found = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        found += [getattr(mod, n) for n in ('_reconstruct', 'scalar')
                  if hasattr(mod, n)]
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.*DType classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    found += [np.float64, np.float32, np.int64, np.int32, np.bool_]
    return found


def checkpoint_safe_globals() -> list:
    """The non-tensor types found in checkpoints written by MMEngine's Runner."""
    import builtins

    from mmengine.config.config import ConfigDict
    from mmengine.logging import HistoryBuffer

    # HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer,
    # 'mean')``. Allowing ``getattr`` is contained: the weights-only unpickler still
    # calls only allow-listed callables, so an attribute fetched this way cannot be
    # executed unless it is itself on this list.
    return [HistoryBuffer, ConfigDict, builtins.getattr] + _numpy_globals()


def register_checkpoint_safe_globals() -> bool:
    """Allow-list MMEngine's checkpoint types for weights-only loading.

    Returns False on torch < 2.4 (no allow-list; nothing to do there since those
    versions load every pickle by default).
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return False
    add_safe_globals(checkpoint_safe_globals())
    return True
