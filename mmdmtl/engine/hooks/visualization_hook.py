"""Hooks that draw (and optionally save) the multi-task predictions of val/test."""
import logging
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from mmseg.engine.hooks import SegVisualizationHook

from mmdmtl.registry import HOOKS
from mmdmtl.structures import check_task_names
from mmdmtl.utils.safe_output import UniqueOutputNames, claim_output_dir


def _output_name(names: UniqueOutputNames, data_sample) -> str:
    """A name for the sample's output files, unique in this run."""
    return names.name(data_sample.metainfo.get('img_path'))


def _warn_replacing(names: UniqueOutputNames, state: dict):
    """``before_write`` callback: say once (with the count at the end) that
    files of an earlier run are replaced."""
    from mmengine.logging import print_log

    def check(path: str) -> None:
        notice = names.check_target(path)
        if notice is not None:
            state['replaced'] = state.get('replaced', 0) + 1
            if state['replaced'] == 1:
                print_log(notice, logger='current', level=logging.WARNING)

    return check


def _report_names(names: UniqueOutputNames, state: dict, what: str) -> None:
    from mmengine.logging import print_log
    if names.renamed:
        shown = ', '.join(f'{p} -> {n}' for p, n in names.renamed[:3])
        print_log(f'{what}: {len(names.renamed)} input(s) share a file name with '
                  f'another input and were named apart ({shown}'
                  f'{", ..." if len(names.renamed) > 3 else ""})',
                  logger='current', level=logging.WARNING)
    if state.get('replaced'):
        print_log(f'{what}: replaced {state["replaced"]} file(s) written before '
                  'this run', logger='current', level=logging.WARNING)


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
        self._names, self._state = UniqueOutputNames(), {}
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
            path = sample.metainfo.get('img_path')
            stem = osp.splitext(osp.basename(str(path)))[0] if path else str(
                batch_idx)
            self._draw(f'val_{stem}', sample, step=runner.iter)

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
            stem = _output_name(self._names, sample)
            out_file = None
            if self._resolved_out is not None:
                out_file = osp.join(self._resolved_out, f'{stem}.png')
                _warn_replacing(self._names, self._state)(out_file)
            self._draw(f'test_{stem}', sample, step=index, out_file=out_file)
            self._drawn += 1

    def after_test(self, runner: Runner) -> None:
        if getattr(self, '_names', None) is not None and \
                self._resolved_out is not None:
            _report_names(self._names, self._state, '--show-dir')


@HOOKS.register_module()
class MultiTaskPredictionSaveHook(Hook):
    """Write every test prediction to files (``tools/test.py --out DIR``).

    For each image and task: ``<out_dir>/<task>/<name>.png`` (a readable
    encoding, see :func:`mmdmtl.structures.prediction_io.save_task_predictions`)
    and, with ``save_npy=True``, the exact array as ``.npy``. ``<name>`` is the
    image's file stem, made unique within the run (``UniqueOutputNames``:
    ``a/0000.png`` and ``b/0000.png`` give ``0000`` and ``b_0000``); replacing a
    file of an earlier run into the same folder is logged.

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
        self._names, self._state = UniqueOutputNames(), {}
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
            stem = _output_name(self._names, sample)
            self._index += 1
            preds = predictions_to_numpy(sample, self.tasks)
            save_task_predictions(
                preds, self._resolved, stem, save_npy=self.save_npy,
                before_write=_warn_replacing(self._names, self._state))

    def after_test(self, runner: Runner) -> None:
        if getattr(self, '_names', None) is not None:
            _report_names(self._names, self._state, '--out')


@HOOKS.register_module()
class SegPanelVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` that can also write each test panel as
    ``<out_dir>/<image stem>.png``: what ``tools/test.py --show-dir`` uses for the
    mmseg drop-in configs (docs/mmseg_dropin.md), whose ``SegVisualizationHook``
    has no ``out_dir``. Validation drawing is mmseg's.

    Args:
        out_dir (str, optional): directory for the test panels (claimed like every
            output folder of mmdmtl). Relative paths are taken relative to the
            runner's work_dir. Without it the panels go to the visualizer's
            backends, as in mmseg.
        **kwargs: ``SegVisualizationHook``'s arguments.
    """

    def __init__(self, out_dir: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.out_dir = out_dir
        self._resolved_out = None

    def before_test(self, runner: Runner) -> None:
        if self.draw and self.out_dir is not None:
            self._resolved_out = (self.out_dir if osp.isabs(self.out_dir) else
                                  osp.join(runner.work_dir, self.out_dir))
            claim_output_dir(self._resolved_out, 'SegPanelVisualizationHook',
                             'panel folder (--show-dir / out_dir)')
        self._names, self._state = UniqueOutputNames(), {}

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        if not self.draw or self._resolved_out is None:
            return super().after_test_iter(runner, batch_idx, data_batch,
                                           outputs)
        from mmdmtl.visualization import load_image_rgb
        for sample in outputs:
            stem = _output_name(self._names, sample)
            out_file = osp.join(self._resolved_out, f'{stem}.png')
            _warn_replacing(self._names, self._state)(out_file)
            self._visualizer.add_datasample(
                f'test_{stem}',
                load_image_rgb(sample.img_path, self.backend_args),
                data_sample=sample,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=runner.iter)

    def after_test(self, runner: Runner) -> None:
        if self._resolved_out is not None:
            _report_names(self._names, self._state, '--show-dir')
