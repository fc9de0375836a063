from .distributed import (CPUDistributedDataParallel, init_cpu_process_group,
                          setup_distributed)
from .hooks import *  # noqa: F401,F403

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_process_group', 'setup_distributed'
]
