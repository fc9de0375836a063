"""Hooks that draw (and optionally save) the multi-task predictions of val/test."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from mmdmtl.registry import HOOKS
from mmdmtl.structures import check_task_names
from mmdmtl.utils.safe_output import claim_output_dir


def _image_stem(data_sample, fallback: str) -> str:
    path = data_sample.metainfo.get('img_path')
    if not path:
        return fallback
    return osp.splitext(osp.basename(str(path)))[0]


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Draw image + every task's label and prediction (``MultiTaskVisualizer``) during
    validation and testing.

    Validation: the first sample of every ``interval``-th batch goes to the visualizer's
    backends (``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/vis_image/``,
    ``TensorboardVisBackend`` an event file), keyed by the training iteration.
    Test: every ``interval``-th sample (all of them by default when drawing to
    ``out_dir``) is drawn; with ``out_dir`` the panels are written as
    ``<out_dir>/<image stem>.png`` (this is what ``tools/test.py --show-dir`` sets),
    otherwise they go to the backends.

    Args:
        draw (bool): draw at all. Defaults to False (the runtime default: drawing costs
            time and disk).
        interval (int): draw every ``interval``-th val batch / test sample. Defaults to
            50; ``tools/test.py --show-dir`` sets 1.
        show (bool): also show each panel in a window. Defaults to False.
        wait_time (float): seconds a shown window stays. Defaults to 0.
        draw_gt / draw_pred (bool): rows of the panel. Default True.
        out_dir (str, optional): directory for test panels (created). Relative paths
            are taken relative to the runner's work_dir.
        max_samples (int, optional): stop drawing test panels after this many.
        backend_args (dict, optional): file backend to read images with.
    """
    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 draw_gt: bool = True,
                 draw_pred: bool = True,
                 out_dir: Optional[str] = None,
                 max_samples: Optional[int] = None,
                 backend_args: Optional[dict] = None):
        if interval < 1:
            raise ValueError(f'MultiTaskVisualizationHook: interval must be >= 1, got '
                             f'{interval}')
        self.draw = bool(draw)
        self.interval = int(interval)
        self.show = bool(show)
        self.wait_time = wait_time
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self.out_dir = out_dir
        self.max_samples = max_samples
        self.backend_args = backend_args
        self._test_index = 0
        self._drawn = 0
        self._resolved_out = None

    @property
    def _visualizer(self):
        return Visualizer.get_current_instance()

    def _draw(self, name: str, data_sample, step: int, out_file=None) -> None:
        from mmdmtl.visualization import load_image_rgb
        path = data_sample.metainfo.get('img_path')
        img = load_image_rgb(path, self.backend_args) if path else None
        self._visualizer.add_datasample(
            name,
            img,
            data_sample=data_sample,
            draw_gt=self.draw_gt,
            draw_pred=self.draw_pred,
            show=self.show,
            wait_time=self.wait_time,
            out_file=out_file,
            step=step)

    def before_test(self, runner: Runner) -> None:
        self._test_index = 0
        self._drawn = 0
        if self.draw and self.out_dir is not None:
            self._resolved_out = (self.out_dir if osp.isabs(self.out_dir) else
                                  osp.join(runner.work_dir, self.out_dir))
            # never into a folder of files mmdmtl did not write
            claim_output_dir(self._resolved_out, 'MultiTaskVisualizationHook',
                             'panel folder (--show-dir / out_dir)')

    def after_val_iter(self,
                       runner: Runner,
                       batch_idx: int,
                       data_batch: dict = None,
                       outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs:
            return
        if self.every_n_inner_iters(batch_idx, self.interval):
            sample = outputs[0]
            self._draw(f'val_{_image_stem(sample, str(batch_idx))}', sample,
                       step=runner.iter)

    def after_test_iter(self,
                        runner: Runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs:
            return
        for sample in outputs:
            index = self._test_index
            self._test_index += 1
            if index % self.interval:
                continue
            if self.max_samples is not None and self._drawn >= self.max_samples:
                continue
            stem = _image_stem(sample, f'{index:06d}')
            out_file = None
            if self._resolved_out is not None:
                out_file = osp.join(self._resolved_out, f'{stem}.png')
            self._draw(f'test_{stem}', sample, step=index, out_file=out_file)
            self._drawn += 1


@HOOKS.register_module()
class MultiTaskPredictionSaveHook(Hook):
    """Write every test prediction to files (``tools/test.py --out DIR``).

    For each image and task: ``<out_dir>/<task>/<image stem>.png`` (a readable
    encoding, see :func:`mmdmtl.structures.prediction_io.save_task_predictions`) and, with
    ``save_npy=True``, the exact array as ``.npy``.

    Args:
        out_dir (str): output directory (created).
        tasks (Sequence[str], optional): tasks to save. Defaults to all predicted.
        save_npy (bool): also write raw arrays. Defaults to True.
    """
    priority = 'NORMAL'

    def __init__(self,
                 out_dir: str,
                 tasks: Optional[Sequence[str]] = None,
                 save_npy: bool = True):
        self.out_dir = out_dir
        self.tasks = (check_task_names(tasks, 'MultiTaskPredictionSaveHook.tasks')
                      if tasks is not None else None)
        self.save_npy = save_npy
        self._index = 0

    def before_test(self, runner: Runner) -> None:
        self._index = 0
        self._resolved = (self.out_dir if osp.isabs(self.out_dir) else osp.join(
            runner.work_dir, self.out_dir))
        claim_output_dir(self._resolved, 'MultiTaskPredictionSaveHook',
                         'prediction folder (--out / out_dir)')

    def after_test_iter(self,
                        runner: Runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        from mmdmtl.structures.prediction_io import (predictions_to_numpy,
                                                     save_task_predictions)
        for sample in outputs or ():
            stem = _image_stem(sample, f'{self._index:06d}')
            self._index += 1
            preds = predictions_to_numpy(sample, self.tasks)
            save_task_predictions(preds, self._resolved, stem,
                                  save_npy=self.save_npy)
