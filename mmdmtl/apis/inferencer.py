"""``MultiTaskInferencer``: config + checkpoint -> every task's prediction per image.

    >>> from mmdmtl.apis import MultiTaskInferencer
    >>> inferencer = MultiTaskInferencer('configs/...py', 'work_dirs/.../iter_N.pth')
    >>> out = inferencer('demo.jpg', out_dir='outputs')
    >>> out['predictions'][0]['semseg'].shape     # (H, W) class ids
    >>> out['predictions'][0]['normals'].shape    # (H, W, 3) unit vectors

Outputs always come as lists, one entry per input image, in input order.
"""
import os
import os.path as osp
import re
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.infer.infer import BaseInferencer
from mmengine.registry import init_default_scope

from mmdmtl.engine.mmengine_compat import (load_checkpoint_to_model,
                                           require_inferencer_internals)
from mmdmtl.registry import INFERENCERS, TRANSFORMS
from mmdmtl.structures import check_task_names
from mmdmtl.structures.prediction_io import (predictions_to_numpy,
                                             save_task_predictions)
from mmdmtl.utils.safe_output import UniqueOutputNames

InputType = Union[str, np.ndarray]
InputsType = Union[InputType, Sequence[InputType]]

# Transforms that read labels have nothing to read at inference time.
_ANNOTATION_LOADER = re.compile(r'Annotation|LoadTaskLabels|LoadMultiTaskLabels')
_IMAGE_LOADER = re.compile(r'^Load.*Image')


class SyntheticCheckpointWarning(UserWarning):
    """The checkpoint was trained on the generated SyntheticScenes."""


def _type_name(t) -> str:
    name = t['type'] if isinstance(t, dict) else type(t).__name__
    name = name if isinstance(name, str) else name.__name__
    return name.split('.')[-1]


class _ImageInput:
    """First pipeline step at inference: a path goes through the config's own image
    loader (so ``.npy`` images etc. load exactly as in testing); an array (H x W x 3
    uint8, BGR as ``mmcv.imread`` returns it) is used as is."""

    def __init__(self, file_loader):
        self.file_loader = file_loader

    def __call__(self, single_input):
        if isinstance(single_input, str):
            if not osp.isfile(single_input):
                raise FileNotFoundError(f'input image not found: {single_input}')
            results = dict(img_path=single_input, labeled_tasks=(), seg_fields=[])
            return self.file_loader(results)
        if isinstance(single_input, np.ndarray):
            img = single_input
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=-1)
            if img.ndim != 3 or img.shape[-1] != 3:
                raise ValueError(f'input array must be H x W x 3, got {img.shape}')
            return dict(
                img=img,
                img_path=None,
                img_shape=img.shape[:2],
                ori_shape=img.shape[:2],
                labeled_tasks=(),
                seg_fields=[])
        raise TypeError(f'inputs must be image paths or numpy arrays, got '
                        f'{type(single_input).__name__}')


@INFERENCERS.register_module()
class MultiTaskInferencer(BaseInferencer):
    """Run a trained multi-task model on images.

    Args:
        model (str | Config | dict): config file or config.
        weights (str, optional): checkpoint. Without it the model keeps its random
            initialisation (a warning says so).
        device (str, optional): 'cpu', 'cuda', 'cuda:1', ... Defaults to a GPU when
            one is present.
        tasks (Sequence[str], optional): tasks to return. Defaults to every task the
            model predicts.
        scope (str): registry scope. Defaults to 'mmdmtl'.
        show_progress (bool): progress bar over batches. Defaults to False.
        allow_partial (bool): accept a checkpoint that fills the model only partly
            (missing, unexpected or other-shape entries keep their initialisation;
            a warning lists them). Default False: the checkpoint must match the
            model exactly, else ``CheckpointMismatchError`` with the report (the
            policy of tools/test.py).
        fast (bool, optional): fast inference (mmdmtl/engine/fast_mode.py):
            Conv+BN folded, channels_last, autocast where the machine runs it
            natively (GPU bf16/fp16; CPU bf16 only with avx512_bf16/amx_bf16,
            else fp32, logged). None (default): the config's
            ``fast.enabled`` (off unless set); True/False override it. The
            chosen plan is ``inferencer.fast_plan`` (None when off).

    Call arguments (``inferencer(inputs, **kwargs)``):
        inputs: an image path, a directory of images, an array, or a list of these.
        batch_size (int): images per forward pass. Defaults to 1.
        out_dir (str): when given, write ``<out_dir>/preds/<task>/<stem>.png``
            (see :func:`mmdmtl.structures.prediction_io.encode_prediction_png`)
            and the panels as ``<out_dir>/vis/<stem>.png``; ``<stem>`` is the
            input's file stem, made unique within the call (``a/0000.png`` and
            ``b/0000.png`` give ``0000`` and ``b_0000``); replacing an earlier
            run's file warns.
        save_npy (bool): also write the exact arrays as ``.npy``. Defaults to False.
        return_vis (bool): return the panels (RGB uint8). Defaults to False.
        draw_pred (bool): draw panels at all (needed for ``vis/``). Defaults to True.
        show (bool), wait_time (float): show panels in a window.
        skip_unreadable (bool): with a folder (or list) of images, skip the images
            that cannot be decoded (listed in ``skipped``). Default False: such an
            image is an error naming it. Files of a folder that are not images
            (by extension) are always skipped and counted.
        return_datasamples (bool): return the ``MultiTaskDataSample`` objects
            instead of arrays.

    Returns:
        dict with ``predictions``: a list (one per input) of dicts task -> array
        (class maps [H, W] int64, sal/edge probabilities [H, W] float32, normals
        [H, W, 3] float32, depth [H, W] float32), and ``visualization``: a list of
        panels (empty unless ``return_vis``), and ``skipped``: the inputs left
        out (non-image files of a folder, and undecodable images with
        ``skip_unreadable``) as a list of (path, reason).
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {
        'show', 'wait_time', 'draw_pred', 'return_vis', 'out_dir_vis'
    }
    postprocess_kwargs: set = {'out_dir', 'save_npy'}

    def __init__(self,
                 model: Union[str, Config, ConfigDict, dict],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 tasks: Optional[Sequence[str]] = None,
                 scope: str = 'mmdmtl',
                 show_progress: bool = False,
                 allow_partial: bool = False,
                 fast: Optional[bool] = None) -> None:
        from mmdmtl.utils import register_all_modules
        require_inferencer_internals()  # the methods overridden below
        register_all_modules(init_default_scope=False)
        init_default_scope(scope)
        if isinstance(model, str) and not osp.isfile(model):
            raise FileNotFoundError(f'MultiTaskInferencer: config file not found: '
                                    f'{model}')
        if weights is not None and not osp.isfile(weights):
            raise FileNotFoundError(f'MultiTaskInferencer: checkpoint not found: '
                                    f'{weights}')
        if weights is not None:
            from mmdmtl.utils.cli import check_checkpoint_arg
            check_checkpoint_arg(weights, 'MultiTaskInferencer: checkpoint')
        self.allow_partial = bool(allow_partial)
        self._weights_path = weights
        self._skipped: List[tuple] = []
        self._skip_unreadable = False
        self._vis_names, self._pred_names = (UniqueOutputNames(),
                                             UniqueOutputNames())
        self._replaced = 0
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.tasks = (check_task_names(tasks, 'MultiTaskInferencer(tasks=...)')
                      if tasks is not None else None)
        super().__init__(
            model=model,
            weights=weights,
            device=device,
            scope=scope,
            show_progress=show_progress)
        if self.visualizer is not None:
            self.visualizer.dataset_meta = getattr(self.model, 'dataset_meta', None)
        self.fast_plan = self._init_fast(fast)

    def _init_fast(self, fast: Optional[bool]):
        """The fast mode of tools/test.py --fast, on the built model."""
        from mmengine.logging import print_log
        from mmdmtl.engine.fast_mode import enable_fast_inference, fast_options
        opts = fast_options(self.cfg, fast)
        if not opts['enabled']:
            return None
        plan = enable_fast_inference(self.model, **opts)
        print_log('MultiTaskInferencer: ' + plan.describe(inference=True),
                  logger='current')
        return plan

    # ------------------------------------------------------------------ set-up
    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        if checkpoint is None:
            warnings.warn('MultiTaskInferencer: no checkpoint given, the predictions '
                          'come from a randomly initialised model')
            model.dataset_meta = self._dataset_meta_from_cfg(cfg)
            return
        # One policy with tools/test.py: exact match unless allow_partial.
        from mmdmtl.engine.checkpoint import (check_checkpoint_fits,
                                              check_task_order)
        source = str(getattr(self, '_weights_path', None) or 'checkpoint')
        check_task_order(model, checkpoint, source)
        report = check_checkpoint_fits(
            model, checkpoint, source=source,
            strict=not getattr(self, 'allow_partial', False),
            allow_shape_mismatch=True, min_matched_ratio=0.0)
        if not report.is_exact:
            warnings.warn('MultiTaskInferencer: allow_partial=True, the entries '
                          'below keep their initialisation:\n' +
                          report.format(source))
        load_checkpoint_to_model(model, checkpoint)
        meta = checkpoint.get('meta', {}) or {}
        from mmdmtl.engine.hooks.dataset_record_hook import synthetic_training_note
        note = synthetic_training_note(meta)
        if note:  # once per checkpoint and process
            warnings.warn(f'MultiTaskInferencer: checkpoint {source} {note}',
                          SyntheticCheckpointWarning)
        model.dataset_meta = meta.get('dataset_meta') or \
            self._dataset_meta_from_cfg(cfg)

    @staticmethod
    def _dataset_meta_from_cfg(cfg) -> Optional[dict]:
        try:
            meta = cfg.test_dataloader.dataset.get('metainfo')
        except AttributeError:
            return None
        return dict(meta) if meta else None

    def _init_pipeline(self, cfg) -> Compose:
        try:
            pipeline_cfg = list(cfg.test_dataloader.dataset.pipeline)
        except AttributeError:
            pipeline_cfg = list(cfg.get('test_pipeline') or [])
        if not pipeline_cfg:
            raise ValueError('MultiTaskInferencer: the config has no '
                             'test_dataloader.dataset.pipeline (nor test_pipeline)')
        pipeline_cfg = [
            t for t in pipeline_cfg if not _ANNOTATION_LOADER.search(_type_name(t))
        ]
        load_idx = next((i for i, t in enumerate(pipeline_cfg)
                         if _IMAGE_LOADER.search(_type_name(t))), None)
        if load_idx is None:
            raise ValueError(
                'MultiTaskInferencer: no image-loading transform (Load*Image*) in '
                f'the test pipeline {[_type_name(t) for t in pipeline_cfg]}')
        loader = TRANSFORMS.build(pipeline_cfg[load_idx]) if isinstance(
            pipeline_cfg[load_idx], dict) else pipeline_cfg[load_idx]
        rest = Compose(pipeline_cfg[load_idx + 1:])
        first = _ImageInput(loader)
        return Compose([first, rest])

    def _init_visualizer(self, cfg):
        vis_cfg = cfg.get('visualizer') or dict(type='MultiTaskVisualizer')
        cfg.visualizer = vis_cfg
        # No backends: the inferencer writes its panels itself.
        cfg.visualizer['vis_backends'] = None
        cfg.visualizer.pop('save_dir', None)
        return super()._init_visualizer(cfg)

    # --------------------------------------------------------------- the steps
    def visualize(self,
                  inputs: list,
                  preds: list,
                  show: bool = False,
                  wait_time: float = 0.,
                  draw_pred: bool = True,
                  return_vis: bool = False,
                  out_dir_vis: str = '') -> List[np.ndarray]:
        from mmdmtl.visualization import load_image_rgb
        if not draw_pred or self.visualizer is None or not (
                show or return_vis or out_dir_vis):
            return []
        panels = []
        for single_input, pred in zip(inputs, preds):
            if isinstance(single_input, str):
                img = load_image_rgb(single_input)
                stem = self._vis_names.name(single_input)
            else:
                img = np.ascontiguousarray(single_input[..., ::-1])  # BGR -> RGB
                stem = self._vis_names.name(None)
            out_file = (osp.join(out_dir_vis, 'vis', f'{stem}.png')
                        if out_dir_vis else None)
            if out_file is not None:
                self._replacing(self._vis_names, out_file)
            panel = self.visualizer.add_datasample(
                stem,
                img,
                pred,
                draw_gt=False,
                draw_pred=True,
                show=show,
                wait_time=wait_time,
                out_file=out_file)
            panels.append(panel)
        return panels if return_vis else []

    def postprocess(self,
                    preds: list,
                    visualization: List[np.ndarray],
                    return_datasamples: bool = False,
                    out_dir: str = '',
                    save_npy: bool = False) -> Dict[str, list]:
        results = dict(predictions=[], visualization=visualization)
        for sample in preds:
            arrays = predictions_to_numpy(sample, self.tasks)
            if out_dir:
                names = self._pred_names
                stem = names.name(sample.metainfo.get('img_path'))
                save_task_predictions(
                    arrays, osp.join(out_dir, 'preds'), stem, save_npy=save_npy,
                    before_write=lambda p, n=names: self._replacing(n, p))
            results['predictions'].append(sample if return_datasamples else arrays)
        return results

    def _replacing(self, names, path: str) -> None:
        """Say (once per call) that a file of an earlier run is replaced."""
        notice = names.check_target(path)
        if notice is not None:
            self._replaced += 1
            if self._replaced == 1:
                warnings.warn(f'MultiTaskInferencer: {notice}')

    def _inputs_to_list(self, inputs: InputsType) -> list:
        """A folder becomes its image files (sorted); other files are skipped
        and counted. With ``skip_unreadable`` the images that do not decode are
        skipped too (each is named in ``skipped``)."""
        from mmdmtl.utils.cli import IMAGE_EXTS
        skipped = self._skipped = []
        if isinstance(inputs, str) and osp.isdir(inputs):
            folder = inputs
            inputs = []
            for name in sorted(os.listdir(folder)):
                path = osp.join(folder, name)
                if not osp.isfile(path):
                    continue
                if osp.splitext(name)[1].lower() in IMAGE_EXTS:
                    inputs.append(path)
                else:
                    skipped.append((path, 'not an image file'))
            if not inputs:
                raise FileNotFoundError(
                    f'MultiTaskInferencer: no image files in folder {folder} '
                    f'({len(skipped)} other file(s); image extensions: '
                    f'{", ".join(IMAGE_EXTS)})')
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        inputs = list(inputs)
        if self._skip_unreadable:
            loader = self.pipeline.transforms[0]
            readable = []
            for item in inputs:
                if isinstance(item, str):
                    try:
                        loader(item)
                    except (ValueError, OSError) as err:
                        skipped.append((item, f'unreadable: {err}'))
                        continue
                readable.append(item)
            inputs = readable
        if skipped:
            warnings.warn(f'MultiTaskInferencer: skipped {len(skipped)} input(s): '
                          + '; '.join(f'{p} ({r})' for p, r in skipped[:10]) +
                          ('; ...' if len(skipped) > 10 else ''))
        return inputs

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: str = '',
                 skip_unreadable: bool = False,
                 **kwargs) -> dict:
        if out_dir:
            # never into a folder of files mmdmtl did not write
            from mmdmtl.utils.safe_output import claim_output_dir
            claim_output_dir(out_dir, 'MultiTaskInferencer', 'output folder')
        self._skip_unreadable = bool(skip_unreadable)
        # Output names unique per input over the whole call (all batches):
        # visualize and postprocess see the same inputs in the same order, so
        # their two namers give the same names.
        self._vis_names, self._pred_names = (UniqueOutputNames(),
                                             UniqueOutputNames())
        self._replaced = 0
        # out_dir serves both visualize (panels) and postprocess (prediction files).
        results = super().__call__(
            inputs,
            return_datasamples=return_datasamples,
            batch_size=batch_size,
            out_dir=out_dir,
            out_dir_vis=out_dir if kwargs.get('draw_pred', True) else '',
            **kwargs)
        results['skipped'] = list(self._skipped)
        return results
