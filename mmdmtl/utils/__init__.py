from .checkpoint_compat import (checkpoint_safe_globals,
                                register_checkpoint_safe_globals)
from .set_env import register_all_modules

__all__ = [
    'register_all_modules', 'register_checkpoint_safe_globals',
    'checkpoint_safe_globals'
]
