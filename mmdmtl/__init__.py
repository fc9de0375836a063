"""mmdmtl: DiffusionMTL (CVPR 2024) for OpenMMLab 2.x."""
from .version import __version__
from .version_check import check_versions

check_versions()

from .utils.checkpoint_compat import register_checkpoint_safe_globals  # noqa: E402
from .utils.safe_load import register_safe_checkpoint_loader  # noqa: E402

register_checkpoint_safe_globals()
register_safe_checkpoint_loader()

__all__ = ['__version__']
