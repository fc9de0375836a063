"""``MultiTaskVisualizer``: one panel per image with every task's label and prediction.

Layout (each tile has a caption bar)::

    | image        | semseg GT   | normals GT   | depth GT   | ...
    | (info)       | semseg pred | normals pred | depth pred | ...

    | legend       | class legend| colour key   | colour bar | ...

A task without a label for this image shows a grey "no label" tile in the GT row, so the
panel also tells which tasks the image was annotated for. Under every task column a
footer explains the colours: a legend of the classes present (swatch, id, name) for
semseg/human_parts, a colour bar with its range and unit for depth (metres by default),
saliency and edge (probability 0..1), the axis key for normals. Label and prediction of
depth share one colour scale. ``overlay=True`` draws every map over the image with
opacity ``alpha`` (unlabelled pixels show the image), as mmseg's SegLocalVisualizer
does. Small images are enlarged to ``min_tile_size`` and narrow ones padded, so the
text stays readable at any image size.
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


_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FOOTER_BG = (245, 245, 245)
_FOOTER_FG = (20, 20, 20)


def _text_size(text: str, scale: float):
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, 1)
    return tw, th + base


def _fit_text(text: str, width: int, scale: float) -> str:
    """``text`` cut (with '..') so that it is at most ``width`` pixels wide."""
    if _text_size(text, scale)[0] <= width:
        return text
    while len(text) > 1 and _text_size(text + '..', scale)[0] > width:
        text = text[:-1]
    return text + '..'


def _legend_strip(width: int, entries, scale: float) -> np.ndarray:
    """A block of ``width`` pixels listing (rgb, text) entries, packed into lines
    (one entry per line when the column is narrow)."""
    line_h = _text_size('Ag', scale)[1] + 4
    sw = line_h - 4  # swatch side
    pad, gap = 3, 8
    items = []
    for rgb, text in entries:
        text = _fit_text(text, width - 2 * pad - sw - 4, scale)
        items.append((rgb, text, sw + 4 + _text_size(text, scale)[0]))
    lines, cur, cur_w = [], [], 0
    for it in items:
        need = it[2] + (gap if cur else 0)
        if cur and cur_w + need > width - 2 * pad:
            lines.append(cur)
            cur, cur_w = [], 0
            need = it[2]
        cur.append(it)
        cur_w += need
    if cur:
        lines.append(cur)
    out = np.empty((len(lines) * line_h + 2 * pad, width, 3), np.uint8)
    out[:] = _FOOTER_BG
    y = pad
    for line in lines:
        x = pad
        for rgb, text, w in line:
            cv2.rectangle(out, (x, y + 2), (x + sw - 1, y + 1 + sw),
                          tuple(int(c) for c in rgb), -1)
            cv2.rectangle(out, (x, y + 2), (x + sw - 1, y + 1 + sw), (90, 90, 90), 1)
            cv2.putText(out, text, (x + sw + 4, y + line_h - 5), _FONT, scale,
                        _FOOTER_FG, 1, cv2.LINE_AA)
            x += w + gap
        y += line_h
    return out


def _colour_bar(width: int, colours: np.ndarray, lo: str, hi: str, title: str,
                scale: float) -> np.ndarray:
    """A horizontal colour bar: ``title`` above, the gradient, ``lo``/``hi`` (and
    the middle tick when there is room) below."""
    pad = 3
    th = _text_size('Ag', scale)[1]
    bar_h = max(8, th)
    h = pad + th + 2 + bar_h + 2 + th + pad
    out = np.empty((h, width, 3), np.uint8)
    out[:] = _FOOTER_BG
    cv2.putText(out, _fit_text(title, width - 2 * pad, scale), (pad, pad + th - 3),
                _FONT, scale, _FOOTER_FG, 1, cv2.LINE_AA)
    y0 = pad + th + 2
    bw = max(1, width - 2 * pad)
    grad = cv2.resize(colours[None].astype(np.uint8), (bw, bar_h),
                      interpolation=cv2.INTER_LINEAR)
    out[y0:y0 + bar_h, pad:pad + bw] = grad
    cv2.rectangle(out, (pad, y0), (pad + bw - 1, y0 + bar_h - 1), (90, 90, 90), 1)
    ty = y0 + bar_h + 2 + th - 3
    lw = _text_size(lo, scale)[0]
    hw = _text_size(hi, scale)[0]
    cv2.putText(out, lo, (pad, ty), _FONT, scale, _FOOTER_FG, 1, cv2.LINE_AA)
    cv2.putText(out, hi, (max(pad, width - pad - hw), ty), _FONT, scale, _FOOTER_FG,
                1, cv2.LINE_AA)
    return out


def _footer_text(width: int, lines: Sequence[str], scale: float) -> np.ndarray:
    pad = 3
    line_h = _text_size('Ag', scale)[1] + 3
    out = np.empty((len(lines) * line_h + 2 * pad, width, 3), np.uint8)
    out[:] = _FOOTER_BG
    for i, line in enumerate(lines):
        cv2.putText(out, _fit_text(line, width - 2 * pad, scale),
                    (pad, pad + (i + 1) * line_h - 5), _FONT, scale, _FOOTER_FG, 1,
                    cv2.LINE_AA)
    return out


def _pad_width(tile: np.ndarray, width: int, colour=_FOOTER_BG) -> np.ndarray:
    """Centre ``tile`` in a ``width``-wide canvas (no-op when it is wide enough)."""
    h, w = tile.shape[:2]
    if w >= width:
        return tile
    out = np.empty((h, width, 3), np.uint8)
    out[:] = colour
    x = (width - w) // 2
    out[:, x:x + w] = tile
    return out


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
        alpha (float): opacity of the maps in the overlay view (0 = only the
            image, 1 = only the map). Defaults to 0.6.
        overlay (bool): draw every task's map over the image (mmseg's
            SegLocalVisualizer view); unlabelled pixels show the image.
            Defaults to False.
        overlay_classes (bool): overlay only the class maps (semseg, human_parts).
        legend (bool): draw the footers (class legends, colour bars). Default True.
        min_tile_size (int): smaller images are enlarged (nearest for class maps)
            until their longer side has this many pixels, so captions and legends
            stay readable. 0 keeps the image size. Defaults to 192.
        min_column_width (int): narrower tiles are centred in a column this wide.
            Defaults to 120.
        font_scale (float): OpenCV font scale of legends and colour bars
            (0.4 is about 9 px high). Defaults to 0.4.
        max_legend_classes (int): at most this many classes (the most frequent)
            in a class legend. Defaults to 12.
        depth_unit (str): unit of depth on its colour bar (``dataset_meta``'s
            ``depth_unit`` wins). Defaults to 'm'.
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
                 overlay: bool = False,
                 overlay_classes: bool = False,
                 legend: bool = True,
                 min_tile_size: int = 192,
                 min_column_width: int = 120,
                 font_scale: float = 0.4,
                 max_legend_classes: int = 12,
                 depth_unit: str = 'm',
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
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.alpha = float(alpha)
        self.overlay = bool(overlay)
        self.overlay_classes = bool(overlay_classes)
        self.legend = bool(legend)
        self.min_tile_size = int(min_tile_size or 0)
        self.min_column_width = int(min_column_width or 0)
        self.font_scale = float(font_scale)
        self.max_legend_classes = int(max_legend_classes)
        self.depth_unit = depth_unit

    # ------------------------------------------------------------------ helpers
    def _palette(self, task: str):
        meta = self.dataset_meta or {}
        # mmdmtl datasets: 'palette' (semseg) and 'part_palette' (human_parts)
        for key in (f'{task}_palette', TASKS[task].palette_key):
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
        if self.min_tile_size and max(h, w) < self.min_tile_size:
            # enlarge small images (by a whole factor: crisp nearest-neighbour
            # class maps), never past max_tile_size
            limit = min(self.min_tile_size, self.max_tile_size)
            scale = max(1, int(np.ceil(limit / max(h, w))))
        return max(1, int(round(h * scale))), max(1, int(round(w * scale)))

    def _class_names(self, task: str):
        meta = self.dataset_meta or {}
        key = TASKS[task].classes_key
        names = meta.get(f'{task}_classes') or (meta.get(key) if key else None)
        return list(names) if names is not None else None

    @staticmethod
    def _valid(task: str, data, is_gt: bool) -> np.ndarray:
        """Pixels of ``data`` that carry a label/value (for the overlay)."""
        spec = TASKS[task]
        a = to_numpy(data)
        if spec.kind == 'normals':
            n = a if a.shape[-1] == 3 and a.ndim == 3 and a.shape[0] != 3 else \
                np.moveaxis(a, 0, -1)
            return np.linalg.norm(n, axis=-1) > 1e-6
        a = a[0] if a.ndim == 3 else a
        if spec.kind == 'depth':
            return np.isfinite(a) & (a != 0)
        if spec.kind == 'class' or is_gt:
            return a != spec.ignore_index
        return np.ones(a.shape, bool)

    def _footer(self, task: str, maps, lim, width: int,
                with_gt: bool = True) -> Optional[np.ndarray]:
        """The legend/colour bar under a task column (None without a map).
        ``with_gt=False`` (no ground truth in the column): no legend parts that
        explain ground truth ("no label", "GT 0/1")."""
        spec = TASKS[task]
        scale = self.font_scale
        present = [m for m in maps if m is not None]
        if not present:
            return None
        if spec.kind == 'class':
            ids = np.concatenate([to_numpy(m).astype(np.int64).ravel()
                                  for m in present])
            ids = ids[ids != spec.ignore_index]
            counts = np.bincount(ids[ids >= 0]) if ids.size else np.zeros(0)
            order = [int(i) for i in np.argsort(-counts, kind='stable')
                     if counts[i] > 0]
            top = sorted(order[:self.max_legend_classes])
            names = self._class_names(task) or []
            pal = self._palette(task)
            colours = colorize_class_map(np.asarray(top or [0])[None], pal,
                                         spec.ignore_index)[0]
            entries = [(colours[k], f'{c} {names[c]}' if c < len(names) else
                        f'class {c}') for k, c in enumerate(top)]
            if len(order) > len(top):
                entries.append((INVALID_COLOR, f'+{len(order) - len(top)} more'))
            if with_gt:
                entries.append((INVALID_COLOR, 'no label'))
            return _legend_strip(width, entries, scale)
        if spec.kind in ('binary', 'depth'):
            ramp = np.linspace(0, 1, 256, dtype=np.float32)
            cmap = self.depth_cmap if spec.kind == 'depth' else self.heatmap_cmap
            colours = colorize_heatmap(ramp[None], cmap=cmap)[0]
            if spec.kind == 'depth':
                unit = (self.dataset_meta or {}).get('depth_unit', self.depth_unit)
                return _colour_bar(width, colours, f'{lim[0]:.2f}',
                                   f'{lim[1]:.2f} {unit}', f'depth ({unit})',
                                   scale)
            what = 'saliency' if task == 'sal' else task
            return _colour_bar(width, colours, '0', '1',
                               f'P({what}); GT 0/1' if with_gt else f'P({what})',
                               scale)
        if spec.kind == 'normals':
            return _footer_text(width, ['RGB = (n + 1) / 2', 'x right, y down,',
                                        'z away from camera'], scale)
        return None

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
                  image: Optional[np.ndarray] = None,
                  overlay: Optional[bool] = None) -> np.ndarray:
        rgb = self._colorize_map(task, data, is_gt, depth_lim)
        spec = TASKS[task]
        if overlay is None:
            overlay = self.overlay or (self.overlay_classes and spec.kind == 'class')
        if overlay and image is not None and image.shape[:2] == rgb.shape[:2]:
            valid = self._valid(task, data, is_gt)
            a = np.where(valid, self.alpha, 0.0).astype(np.float32)[..., None]
            rgb = np.clip(np.rint(a * rgb + (1 - a) * image), 0,
                          255).astype(np.uint8)
        return rgb

    def _colorize_map(self, task: str, data, is_gt: bool,
                      depth_lim=None) -> np.ndarray:
        spec = TASKS[task]
        if spec.kind == 'class':
            return colorize_class_map(data, self._palette(task), spec.ignore_index)
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
                   draw_pred: bool = True,
                   overlay: Optional[bool] = None) -> np.ndarray:
        """Compose the panel (RGB uint8) for one image and its ``MultiTaskDataSample``.

        Args:
            image: RGB uint8 [H, W, 3] (None draws a grey placeholder; its size is
                taken from the first map of the sample).
            data_sample: a ``MultiTaskDataSample`` with ``gt_*`` and/or ``pred_*``.
            draw_gt / draw_pred: which rows to draw (at least one).
            overlay: draw the maps over the image (None: the visualizer's
                ``overlay`` / ``overlay_classes`` setting).
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
        col_w = max(size[1], self.min_column_width)
        bar = max(14, min(24, col_w // 8))

        def blank(lines):
            return _pad_width(_message_tile(size[0], size[1], lines), col_w,
                              INVALID_COLOR)

        def fit(rgb, nearest):
            return _pad_width(self._fit(rgb, size, nearest), col_w)

        first_col = [_put_caption(fit(image, False), 'image', bar)]
        name = data_sample.metainfo.get('img_path')
        info = [str(name).replace('\\', '/').split('/')[-1]] if name else []
        info.append('labelled:')
        info += sorted(labeled) if labeled else ['-']
        if draw_gt and draw_pred:
            first_col.append(_put_caption(blank(info), 'info', bar))

        columns = [first_col]
        footers = [None]
        for t in tasks:
            gt, pred = maps[t]
            spec = TASKS[t]
            lim = depth_range(gt, pred) if spec.kind == 'depth' else None
            # the range is on the colour bar; without footers it goes in the caption
            rng = f' [{lim[0]:.2f},{lim[1]:.2f}]' if lim and not self.legend else ''
            shown = [d for d, on in ((gt, draw_gt), (pred, draw_pred)) if on]
            footers.append(self._footer(t, shown, lim, col_w,
                                        with_gt=draw_gt and gt is not None)
                           if self.legend else None)
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
                    rgb = self._colorize(t, data, is_gt, lim, img_for_overlay,
                                         overlay)
                    tile = fit(rgb, nearest=spec.kind == 'class')
                col.append(_put_caption(tile, f'{t} {tag}{rng}', bar))
            columns.append(col)

        rows = max(len(c) for c in columns)
        for c in columns:  # pad the first column when only one row is drawn
            while len(c) < rows:
                c.append(_put_caption(blank(info), 'info', bar))
        sep = 2
        col_imgs = []
        foot_h = max([f.shape[0] for f in footers if f is not None], default=0)
        for c, foot in zip(columns, footers):
            parts = []
            for i, tile in enumerate(c):
                if i:
                    parts.append(np.full((sep, tile.shape[1], 3), 255, np.uint8))
                parts.append(tile)
            if foot_h:
                # every column gets a footer of the same height (blank if none)
                block = np.empty((foot_h, parts[0].shape[1], 3), np.uint8)
                block[:] = _FOOTER_BG
                if foot is not None:
                    block[:foot.shape[0]] = foot
                parts.append(np.full((sep, parts[0].shape[1], 3), 255, np.uint8))
                parts.append(block)
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
                       step: int = 0,
                       overlay: Optional[bool] = None) -> np.ndarray:
        """Draw the panel of one sample; show it, write it to ``out_file`` (PNG) or,
        without ``out_file``, hand it to every vis backend (local files, TensorBoard).

        Returns:
            np.ndarray: the panel, RGB uint8.
        """
        if data_sample is None:
            raise ValueError(f'add_datasample({name!r}): a data_sample is required')
        panel = self.draw_panel(image, data_sample, draw_gt, draw_pred, overlay)
        self.set_image(panel)
        if show:
            self.show(panel, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(panel[..., ::-1], out_file)
        else:
            self.add_image(name, panel, step)
        return panel
