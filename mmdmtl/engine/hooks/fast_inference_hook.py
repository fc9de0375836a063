"""FastInferenceHook: the test loop runs the model in its fast inference form."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdmtl.engine.fast_mode import FastPlan, enable_fast_inference
from mmdmtl.registry import HOOKS


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """``tools/test.py --fast``: before the test loop, the model takes its fast
    inference form (:func:`prepare_model_for_inference`). Only the test loop:
    validation during training keeps the training model untouched."""
    priority = 'LOW'  # after the checkpoint is loaded and checked

    def __init__(self, dtype: str = 'auto', channels_last: bool = True,
                 fuse_conv_bn: bool = True) -> None:
        self.opts = dict(dtype=dtype, channels_last=channels_last,
                         fuse_conv_bn=fuse_conv_bn)
        self.plan: Optional[FastPlan] = None

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        self.plan = enable_fast_inference(model, **self.opts)
        runner.logger.info(self.plan.describe(inference=True) + (
            f' ({model._fast_plan_note})' if model._fast_plan_note else ''))
