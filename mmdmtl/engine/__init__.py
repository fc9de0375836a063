from .distributed import (CPUDistributedDataParallel, init_cpu_process_group,
                          setup_distributed)
from .fast_mode import (CPUAutocastOptimWrapper, FastPlan, choose_plan, cpu_info,
                        prepare_model_for_inference)
from .hooks import *  # noqa: F401,F403

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_process_group', 'setup_distributed',
    'CPUAutocastOptimWrapper', 'FastInferenceHook', 'FastPlan', 'choose_plan',
    'cpu_info', 'prepare_model_for_inference'
]
