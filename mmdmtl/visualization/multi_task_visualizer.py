"""``MultiTaskVisualizer``: one panel per image with every task's label and prediction.

Layout (each tile has a caption bar)::

    | image        | semseg GT   | normals GT   | depth GT   | ...
    | (info)       | semseg pred | normals pred | depth pred | ...

A task without a label for this image shows a grey "no label" tile in the GT row, so the
panel also tells which tasks the image was annotated for. Label and prediction of depth
share one colour scale (the range is written in the caption).
"""
from typing import Dict, List, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from mmdmtl.registry import VISUALIZERS
from mmdmtl.structures import TASKS, check_task_names
from .colorize import (INVALID_COLOR, colorize_binary_label, colorize_class_map,
                       colorize_depth, colorize_heatmap, colorize_normals,
                       depth_range, to_numpy)

_CAPTION_BG = (30, 30, 30)
_DATASET_PALETTE_KEYS = {'semseg': 'palette', 'human_parts': 'part_palette'}
_CAPTION_FG = (240, 240, 240)


def _put_caption(tile: np.ndarray, text: str, bar: int) -> np.ndarray:
    """Prepend a caption bar of height ``bar`` with ``text`` (shrunk to fit)."""
    h, w = tile.shape[:2]
    head = np.empty((bar, w, 3), np.uint8)
    head[:] = _CAPTION_BG
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = bar / 40.0
    (tw, _), _ = cv2.getTextSize(text, font, scale, 1)
    if tw > w - 4:
        scale *= (w - 4) / max(tw, 1)
    cv2.putText(head, text, (2, int(bar * 0.72)), font, scale, _CAPTION_FG, 1,
                cv2.LINE_AA)
    return np.concatenate([head, tile], axis=0)


def _message_tile(h: int, w: int, lines: Sequence[str]) -> np.ndarray:
    tile = np.empty((h, w, 3), np.uint8)
    tile[:] = INVALID_COLOR
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(min(h, w) / 320.0, 0.3)
    step = int(28 * scale) + 4
    y = max(step, h // 2 - step * (len(lines) - 1) // 2)
    for line in lines:
        (tw, _), _ = cv2.getTextSize(line, font, scale, 1)
        s = scale * min(1.0, (w - 4) / max(tw, 1))
        cv2.putText(tile, line, (2, y), font, s, _CAPTION_FG, 1, cv2.LINE_AA)
        y += step
    return tile


@VISUALIZERS.register_module()
class MultiTaskVisualizer(Visualizer):
    """Draws the image, every task's label and every task's prediction in one panel.

    Colours: a palette for class maps (``{task}_palette``, ``palette`` (semseg) or
    ``part_palette`` (human_parts) from ``dataset_meta``, else a generated one), a
    heat map for saliency and edge
    probabilities, RGB = (n + 1) / 2 for normals and a colour map for depth. Grey marks
    pixels (or whole tiles) without a label.

    Args:
        name (str): instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): RGB image to start with.
        vis_backends (list[dict], optional): e.g. ``[dict(type='LocalVisBackend'),
            dict(type='TensorboardVisBackend')]``.
        save_dir (str, optional): where the backends write.
        tasks (Sequence[str], optional): tasks to draw, in this order. Defaults to every
            task that has a label or a prediction in the sample, in task-table order.
        max_tile_size (int): longer side of a tile in pixels; larger images are
            shrunk (nearest for class maps, area averaging for the rest, so thin edges
            stay visible). Defaults to 384.
        heatmap_cmap (str): colour map of saliency/edge maps. Defaults to 'inferno'.
        depth_cmap (str): colour map of depth. Defaults to 'viridis'.
        alpha (float): weight of the class colours when ``overlay_classes`` is True.
        overlay_classes (bool): blend class maps over the image instead of drawing
            them alone. Defaults to False.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[Dict]] = None,
                 save_dir: Optional[str] = None,
                 tasks: Optional[Sequence[str]] = None,
                 max_tile_size: int = 384,
                 heatmap_cmap: str = 'inferno',
                 depth_cmap: str = 'viridis',
                 alpha: float = 0.6,
                 overlay_classes: bool = False,
                 **kwargs):
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir,
            **kwargs)
        self.tasks = (check_task_names(tasks, 'MultiTaskVisualizer.tasks')
                      if tasks is not None else None)
        if max_tile_size < 16:
            raise ValueError(f'max_tile_size must be >= 16, got {max_tile_size}')
        self.max_tile_size = int(max_tile_size)
        self.heatmap_cmap = heatmap_cmap
        self.depth_cmap = depth_cmap
        self.alpha = float(alpha)
        self.overlay_classes = bool(overlay_classes)

    # ------------------------------------------------------------------ helpers
    def _palette(self, task: str):
        meta = self.dataset_meta or {}
        # mmdmtl datasets: 'palette' (semseg) and 'part_palette' (human_parts)
        for key in (f'{task}_palette', _DATASET_PALETTE_KEYS.get(task)):
            if key and meta.get(key) is not None:
                return meta[key]
        palettes = meta.get('palettes')
        if isinstance(palettes, dict) and palettes.get(task) is not None:
            return palettes[task]
        return None

    def _tasks_of(self, data_sample) -> List[str]:
        if self.tasks is not None:
            return list(self.tasks)
        found = []
        for name, spec in TASKS.items():
            if (getattr(data_sample, spec.gt_field, None) is not None
                    or getattr(data_sample, spec.pred_field, None) is not None):
                found.append(name)
        return found

    def _tile_size(self, h: int, w: int):
        scale = min(1.0, self.max_tile_size / max(h, w))
        return max(1, int(round(h * scale))), max(1, int(round(w * scale)))

    @staticmethod
    def _fit(rgb: np.ndarray, size, nearest: bool) -> np.ndarray:
        th, tw = size
        if rgb.shape[:2] == (th, tw):
            return rgb
        shrink = th < rgb.shape[0] or tw < rgb.shape[1]
        interp = cv2.INTER_NEAREST if nearest else (
            cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return cv2.resize(rgb, (tw, th), interpolation=interp)

    def _colorize(self, task: str, data, is_gt: bool, depth_lim=None,
                  image: Optional[np.ndarray] = None) -> np.ndarray:
        spec = TASKS[task]
        if spec.kind == 'class':
            rgb = colorize_class_map(data, self._palette(task), spec.ignore_index)
            if self.overlay_classes and image is not None and \
                    image.shape[:2] == rgb.shape[:2]:
                rgb = np.clip(self.alpha * rgb + (1 - self.alpha) * image, 0,
                              255).astype(np.uint8)
            return rgb
        if spec.kind == 'binary':
            if is_gt:
                return colorize_binary_label(data, spec.ignore_index,
                                             self.heatmap_cmap)
            return colorize_heatmap(data, cmap=self.heatmap_cmap)
        if spec.kind == 'normals':
            return colorize_normals(data)
        if spec.kind == 'depth':
            lo, hi = depth_lim
            return colorize_depth(data, lo, hi, self.depth_cmap)
        raise ValueError(f'task {task!r}: no colouring for kind {spec.kind!r}')

    # --------------------------------------------------------------- the panel
    def draw_panel(self,
                   image: Optional[np.ndarray],
                   data_sample,
                   draw_gt: bool = True,
                   draw_pred: bool = True) -> np.ndarray:
        """Compose the panel (RGB uint8) for one image and its ``MultiTaskDataSample``.

        Args:
            image: RGB uint8 [H, W, 3] (None draws a grey placeholder; its size is
                taken from the first map of the sample).
            data_sample: a ``MultiTaskDataSample`` with ``gt_*`` and/or ``pred_*``.
            draw_gt / draw_pred: which rows to draw (at least one).
        """
        if not (draw_gt or draw_pred):
            raise ValueError('draw_panel: draw_gt and draw_pred are both False')
        tasks = self._tasks_of(data_sample)
        labeled = set(data_sample.metainfo.get('labeled_tasks', ()))

        maps = {}
        for t in tasks:
            spec = TASKS[t]
            gt = getattr(data_sample, spec.gt_field, None)
            pred = getattr(data_sample, spec.pred_field, None)
            maps[t] = (to_numpy(gt.data) if gt is not None else None,
                       to_numpy(pred.data) if pred is not None else None)

        if image is None:
            ref = next((m for pair in maps.values() for m in pair if m is not None),
                       None)
            h, w = (ref.shape[-2:] if ref is not None else (64, 64))
            image = np.full((h, w, 3), 128, np.uint8)
        image = np.ascontiguousarray(to_numpy(image))
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, -1)
        if image.dtype != np.uint8:
            img = image.astype(np.float32)
            img = img * 255.0 if img.max() <= 1.0 else img
            image = np.clip(img, 0, 255).astype(np.uint8)
        size = self._tile_size(*image.shape[:2])
        bar = max(14, min(24, size[1] // 8))

        def blank(lines):
            return _message_tile(size[0], size[1], lines)

        first_col = [_put_caption(self._fit(image, size, False), 'image', bar)]
        name = data_sample.metainfo.get('img_path')
        info = [str(name).replace('\\', '/').split('/')[-1]] if name else []
        info.append('labelled:')
        info += sorted(labeled) if labeled else ['-']
        if draw_gt and draw_pred:
            first_col.append(_put_caption(blank(info), 'info', bar))

        columns = [first_col]
        for t in tasks:
            gt, pred = maps[t]
            spec = TASKS[t]
            lim = depth_range(gt, pred) if spec.kind == 'depth' else None
            rng = f' [{lim[0]:.2f},{lim[1]:.2f}]' if lim else ''
            col = []
            for is_gt, data, enabled in ((True, gt, draw_gt), (False, pred, draw_pred)):
                if not enabled:
                    continue
                tag = 'GT' if is_gt else 'pred'
                if data is None:
                    tile = blank(['no label' if is_gt else 'no prediction'])
                else:
                    img_for_overlay = image if data.shape[-2:] == image.shape[:2] \
                        else None
                    rgb = self._colorize(t, data, is_gt, lim, img_for_overlay)
                    tile = self._fit(rgb, size, nearest=spec.kind == 'class')
                col.append(_put_caption(tile, f'{t} {tag}{rng}', bar))
            columns.append(col)

        rows = max(len(c) for c in columns)
        for c in columns:  # pad the first column when only one row is drawn
            while len(c) < rows:
                c.append(_put_caption(blank(info), 'info', bar))
        sep = 2
        col_imgs = []
        for c in columns:
            parts = []
            for i, tile in enumerate(c):
                if i:
                    parts.append(np.full((sep, tile.shape[1], 3), 255, np.uint8))
                parts.append(tile)
            col_imgs.append(np.concatenate(parts, axis=0))
        out = []
        for j, cimg in enumerate(col_imgs):
            if j:
                out.append(np.full((cimg.shape[0], sep, 3), 255, np.uint8))
            out.append(cimg)
        return np.concatenate(out, axis=1)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: Optional[np.ndarray],
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw the panel of one sample; show it, write it to ``out_file`` (PNG) or,
        without ``out_file``, hand it to every vis backend (local files, TensorBoard).

        Returns:
            np.ndarray: the panel, RGB uint8.
        """
        if data_sample is None:
            raise ValueError(f'add_datasample({name!r}): a data_sample is required')
        panel = self.draw_panel(image, data_sample, draw_gt, draw_pred)
        self.set_image(panel)
        if show:
            self.show(panel, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(panel[..., ::-1], out_file)
        else:
            self.add_image(name, panel, step)
        return panel
