"""Distributed training and testing on machines without a GPU.

MMEngine's launchers assume CUDA: ``init_dist('pytorch')`` calls
``torch.cuda.set_device`` unconditionally, the slurm/mpi launchers do the same, and
``Runner.wrap_model`` builds ``DistributedDataParallel(device_ids=[LOCAL_RANK])``. All
of that fails on a CPU-only machine. :func:`setup_distributed` (used by
``tools/train.py`` and ``tools/test.py``) does nothing when a GPU is present; without
one it

1. switches ``env_cfg.dist_cfg.backend`` to ``gloo``,
2. initialises the process group itself from the launcher's environment (the Runner
   then sees an initialised group and skips its own CUDA-bound ``init_dist``),
3. gives ``model_wrapper_cfg`` a CPU wrapper: DDP without ``device_ids`` and with
   SyncBN layers reverted to BN (SyncBN has no CPU kernel). ``find_unused_parameters``
   keeps the config's value, False by default.
"""
import os
import subprocess
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from mmdmtl.registry import MODEL_WRAPPERS

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DEFAULT_PORT = 29500


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes (gloo).

    Reverts SyncBN to BN before wrapping and never passes ``device_ids`` (which must be
    None for CPU modules). Everything else, ``train_step``/``val_step`` included, is
    MMEngine's.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        if device_ids is not None:
            # Runner.wrap_model injects [LOCAL_RANK]; on CPU it has to be None.
            device_ids = None
        module = revert_sync_batchnorm(module)
        super().__init__(module=module, device_ids=device_ids, **kwargs)


def _env_int(*names: str, default: Optional[int] = None) -> int:
    for name in names:
        if os.environ.get(name) not in (None, ''):
            return int(os.environ[name])
    if default is None:
        raise RuntimeError(
            f'distributed launch: none of the environment variables {list(names)} is '
            'set; start the job with the matching launcher (torchrun for '
            '--launcher pytorch, srun for slurm, mpirun for mpi)')
    return default


def _slurm_master_addr() -> str:
    nodes = os.environ.get('SLURM_NODELIST') or os.environ.get('SLURM_JOB_NODELIST')
    if not nodes:
        return '127.0.0.1'
    try:
        out = subprocess.check_output(['scontrol', 'show', 'hostnames', nodes],
                                      text=True)
        return out.split()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        # A single plain host name needs no scontrol.
        return nodes.split(',')[0]


def _fill_env_from_launcher(launcher: str) -> None:
    """Set RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT for ``env://``."""
    if launcher == 'pytorch':
        rank = _env_int('RANK')
        world = _env_int('WORLD_SIZE')
        local = _env_int('LOCAL_RANK', default=0)
    elif launcher == 'slurm':
        rank = _env_int('SLURM_PROCID')
        world = _env_int('SLURM_NTASKS')
        local = _env_int('SLURM_LOCALID', default=0)
        os.environ.setdefault('MASTER_ADDR', _slurm_master_addr())
    elif launcher == 'mpi':
        rank = _env_int('OMPI_COMM_WORLD_RANK', 'PMI_RANK')
        world = _env_int('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE')
        local = _env_int('OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', default=0)
    else:
        raise ValueError(f'unknown launcher {launcher!r}; choose one of {LAUNCHERS}')
    os.environ['RANK'] = str(rank)
    os.environ['WORLD_SIZE'] = str(world)
    os.environ['LOCAL_RANK'] = str(local)
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', str(DEFAULT_PORT))


def init_cpu_process_group(launcher: str, timeout_s: Optional[float] = None) -> None:
    """Initialise a gloo process group from the launcher's environment (no CUDA)."""
    if torch_dist.is_initialized():
        return
    _fill_env_from_launcher(launcher)
    kwargs = {}
    if timeout_s is not None:
        kwargs['timeout'] = timedelta(seconds=float(timeout_s))
    torch_dist.init_process_group(backend='gloo', init_method='env://', **kwargs)


def setup_distributed(cfg, launcher: str) -> bool:
    """Prepare ``cfg`` (a mmengine Config) for ``launcher``; see the module docstring.

    Returns:
        bool: True when the CPU (gloo) path was taken.

    Raises:
        ValueError: an unknown launcher.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'unknown launcher {launcher!r}; choose one of {LAUNCHERS}')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    init_cpu_process_group(launcher, dist_cfg.get('timeout'))

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='mmdmtl.CPUDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        wrapper['type'] = 'mmdmtl.CPUDistributedDataParallel'
    return True


def describe_world() -> str:
    """One line for the training log: world size, backend and device of this run."""
    world, backend = 1, 'none (single process)'
    if torch_dist.is_available() and torch_dist.is_initialized():
        world = torch_dist.get_world_size()
        backend = str(torch_dist.get_backend())
    if torch.cuda.is_available():
        return (f'run: world size {world}, backend {backend}, device cuda '
                f'({torch.cuda.device_count()} visible)')
    # MMEngine's environment block above prints the world size as "GPU number".
    return (f'run: world size {world}, backend {backend}, device cpu (no GPU is '
            f'used: the "GPU number: {world}" above is MMEngine\'s name for the '
            'world size)')
