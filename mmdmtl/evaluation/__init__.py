"""Dense multi-task metrics (``metrics``) and the functions behind them
(``functional``)."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
