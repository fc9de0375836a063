"""The SyntheticScenes renderer: a scene ray-cast into an image and six labels.

Every pixel's ray is intersected with every primitive of the scene at once
(``raycast``), which gives for each pixel the hit surface, so the labels are
exact and consistent with each other:

* semseg: the class of the hit surface (``SYNTHETIC_CLASSES``);
* depth: metric z-depth (along the optical axis) in metres;
* normals: unit surface normals in the camera frame (OpenCV axes: x right,
  y down, z forward), pointing towards the camera;
* edge: thin (one pixel) boundaries between different (class, object) regions;
  of the two pixels across a boundary the nearer one is marked (occluding side);
* sal: 1 on the foreground objects (boxes, spheres, cylinders, figure);
* human_parts: the figure's parts (``SYNTHETIC_PART_CLASSES``), 0 elsewhere.

The RGB image is shaded from the normals (Lambert + ambient) and per-class colours
and textures, plus Gaussian noise, so every task is learnable from the image.

Generation is deterministic from (seed, split, index): ``generate_sample``.
"""
from typing import Dict, Tuple

import numpy as np

from .raycast import (box_hit, capsule_hit, cylinder_hit, mat3_mul, room_hit,
                      rays_through, sphere_hit)
from .scene import (BOX, CEILING, CYLINDER, FIGURE, FLOOR, FOREGROUND, RUG,
                    SPHERE, SYNTHETIC_PALETTE, WALL, WINDOW, bounding_sphere,
                    figure_primitives, sample_scene)


def _camera(scene: dict, size: Tuple[int, int]):
    h, w = size
    yaw, pitch = scene['yaw'], scene['pitch']
    fwd = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                    np.cos(yaw) * np.cos(pitch)])
    right = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
    up = np.cross(fwd, right)
    # OpenCV camera axes in world coordinates: x right, y down, z forward.
    rot = np.stack([right, -up, fwd])  # rows: camera axes; world -> camera
    f = (w / 2) / np.tan(scene['hfov'] / 2)
    xs = (np.arange(w) + 0.5 - w / 2) / f
    ys = (np.arange(h) + 0.5 - h / 2) / f
    inv = 1.0 / np.sqrt(xs[None, :]**2 + ys[:, None]**2 + 1.0)  # unit rays
    d = ((xs[None, :] * inv)[..., None] * rot[0] +
         (ys[:, None] * inv)[..., None] * rot[1] + inv[..., None] * rot[2])
    d = d.reshape(-1, 3)
    return rot, d



def render_scene(scene: dict, size: Tuple[int, int],
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Ray-cast ``scene`` at ``size`` (h, w); returns image (RGB uint8) and
    the six label maps."""
    with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
        return _render(scene, size, rng)


def _render(scene, size, rng):
    h, w = size
    rot, d = _camera(scene, size)
    o = scene['cam']
    n_pix = len(d)
    # Room: always hit (camera inside).
    t, axis, positive = room_hit(o, d, scene['lo'], scene['hi'])
    normal = np.zeros_like(d)
    normal[np.arange(n_pix), axis] = np.where(positive, -1.0, 1.0)
    cls = np.full(n_pix, WALL, dtype=np.uint8)
    cls[(axis == 1) & ~positive] = FLOOR
    cls[(axis == 1) & positive] = CEILING
    inst = np.zeros(n_pix, dtype=np.int32)
    part = np.zeros(n_pix, dtype=np.uint8)
    tint = np.ones((n_pix, 3))
    p = o[None] + t[:, None] * d
    # Decals (same plane, own class): window on a wall, rug on the floor.
    win = scene['window']
    wall_axis, wall_pos = [(2, True), (0, False), (0, True)][win['wall']]
    on_wall = (axis == wall_axis) & (positive == wall_pos)
    u_coord = p[:, 0] if wall_axis == 2 else p[:, 2] - 4.0
    cls[on_wall & (np.abs(u_coord - win['u']) < win['w'] / 2) &
        (np.abs(p[:, 1] - win['y'] - win['h'] / 2) < win['h'] / 2)] = WINDOW
    rug = scene['rug']
    on_rug = ((cls == FLOOR) & (np.abs(p[:, 0] - rug['x']) < rug['w'] / 2) &
              (np.abs(p[:, 2] - rug['z']) < rug['d'] / 2))
    cls[on_rug] = RUG
    tint[on_rug] = rug['color']

    def merge(t_new, n_new, klass, inst_id, part_id=0, color=None,
              subset=None):
        if subset is None:
            closer = t_new < t
            idx = closer
        else:
            closer = t_new < t[subset]
            idx = subset[closer]
        t[idx] = t_new[closer]
        normal[idx] = n_new[closer]
        cls[idx] = klass
        inst[idx] = inst_id
        part[idx] = part_id
        if color is not None:
            tint[idx] = color

    for k, obj in enumerate(scene['objects'], start=1):
        kind = obj['kind']
        # Only rays through the object's bounding sphere are tested.
        centre, radius = bounding_sphere(obj)
        sub = rays_through(o, d, centre, radius)
        if not len(sub):
            continue
        ds = d[sub]
        if kind == BOX:
            center = np.array([obj['x'], obj['half'][1], obj['z']])
            tn, nn = box_hit(o, ds, center, obj['half'], obj['yaw'])
            merge(tn, nn, BOX, k, color=obj['color'], subset=sub)
        elif kind == SPHERE:
            center = np.array([obj['x'], obj['radius'], obj['z']])
            tn, nn = sphere_hit(o, ds, center, obj['radius'])
            merge(tn, nn, SPHERE, k, color=obj['color'], subset=sub)
        elif kind == CYLINDER:
            base = np.array([obj['x'], 0.0, obj['z']])
            tn, nn = cylinder_hit(o, ds, base, obj['radius'], obj['height'])
            merge(tn, nn, CYLINDER, k, color=obj['color'], subset=sub)
        else:
            for part_id, pkind, params in figure_primitives(obj):
                # Each limb covers a small part of the figure's rays: cull
                # again with the limb's own bounding sphere (exact).
                if pkind == 'sphere':
                    c_p, r_p = params
                else:
                    c_p = (params[0] + params[1]) / 2
                    r_p = np.linalg.norm(params[1] - params[0]) / 2 + params[2]
                keep = rays_through(o, ds, c_p, r_p + 1e-3)
                if not len(keep):
                    continue
                dk = ds[keep]
                if pkind == 'sphere':
                    tn, nn = sphere_hit(o, dk, *params)
                else:
                    tn, nn = capsule_hit(o, dk, *params)
                merge(tn, nn, FIGURE, k, part_id=part_id, subset=sub[keep],
                      color=_PART_TINT[part_id] * obj['color'])

    p = o[None] + t[:, None] * d
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    n_cam = mat3_mul(normal, rot.T)
    depth = (t * (d @ rot[2])).astype(np.float32)

    # Shading: class albedo x texture x tint, Lambert + ambient, noise.
    albedo = _ALBEDO[cls] * tint
    light = scene['light'] / np.linalg.norm(scene['light'])
    lambert = np.clip(normal @ light, 0, 1)
    tex = _texture(cls, p)
    shade = (0.35 + 0.65 * lambert) * tex
    rgb = albedo * shade[:, None] * 255.0
    rgb = rgb.reshape(h, w, 3) + 3.0 * rng.standard_normal(
        (h, w, 3), dtype=np.float32)
    img = np.clip(rgb, 0, 255).astype(np.uint8)

    cls2 = cls.reshape(h, w)
    region = cls2.astype(np.int64) * 1000 + inst.reshape(h, w)
    edge = _boundaries(region, depth.reshape(h, w))
    sal = np.isin(cls2, FOREGROUND).astype(np.uint8)
    return dict(
        image=img,
        semseg=cls2,
        depth=depth.reshape(h, w),
        normals=n_cam.reshape(h, w, 3).astype(np.float32),
        edge=edge,
        sal=sal,
        human_parts=part.reshape(h, w),
        focal=np.float64((w / 2) / np.tan(scene['hfov'] / 2)))



_ALBEDO = np.array([c for c in SYNTHETIC_PALETTE], dtype=np.float64) / 255.0
_PART_TINT = {
    1: np.array([1.0, 0.85, 0.75]),
    2: np.array([0.4, 0.6, 1.0]),
    3: np.array([0.5, 0.7, 1.0]),
    4: np.array([1.0, 0.8, 0.7]),
    5: np.array([0.55, 0.45, 0.35]),
    6: np.array([0.35, 0.3, 0.25]),
}


def _texture(cls: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-class procedural textures (multiplicative, about 0.75..1.1)."""
    tex = np.ones(len(cls))
    floor = cls == FLOOR
    checker = (np.floor(p[:, 0] * 2) + np.floor(p[:, 2] * 2)) % 2
    tex[floor] = 0.8 + 0.25 * checker[floor]
    wall = cls == WALL
    tex[wall] = 0.92 + 0.08 * np.sin(p[wall, 1] * 12)
    rug = cls == RUG
    tex[rug] = 0.8 + 0.25 * (np.floor(p[rug, 0] * 6) % 2)
    box = cls == BOX
    tex[box] = 0.85 + 0.15 * np.sin((p[box, 0] + p[box, 2]) * 25)
    cyl = cls == CYLINDER
    tex[cyl] = 0.8 + 0.25 * (np.floor(p[cyl, 1] * 6) % 2)
    win = cls == WINDOW
    tex[win] = 1.1
    return tex


def _boundaries(region: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """One-pixel edges between regions; the nearer pixel of each differing
    neighbour pair is marked (ties: the left/upper one)."""
    edge = np.zeros(region.shape, dtype=bool)
    diff = region[:, :-1] != region[:, 1:]
    left = depth[:, :-1] <= depth[:, 1:]
    edge[:, :-1] |= diff & left
    edge[:, 1:] |= diff & ~left
    diff = region[:-1] != region[1:]
    up = depth[:-1] <= depth[1:]
    edge[:-1] |= diff & up
    edge[1:] |= diff & ~up
    return edge.astype(np.uint8)



def generate_sample(seed: int, split: str, index: int,
                    size: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """Scene ``index`` of ``split``: same inputs, same pixels."""
    split_key = {'train': 0, 'val': 1}[split]
    rng = np.random.default_rng([int(seed), split_key, int(index)])
    scene = sample_scene(rng)
    return render_scene(scene, tuple(size), rng)
