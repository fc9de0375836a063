from .conditioners import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .diffusion import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .data_preprocessor import MultiTaskDataPreProcessor  # noqa: F401
