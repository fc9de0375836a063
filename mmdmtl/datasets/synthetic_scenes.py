"""SyntheticScenes: procedurally ray-cast rooms with exact labels for all six tasks.

Each scene is a room (floor, walls, ceiling, with a window on a wall and a rug on
the floor) holding a few boxes, spheres and vertical cylinders and one jointed
"figure" (a sphere head and capsule torso/limbs), seen by a pinhole camera. Every
pixel's ray is intersected with every primitive at once (vectorised numpy, no
per-pixel loop), which gives for each pixel the hit surface, so the labels are
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

Files are written in a NYUD_MT-like layout that ``SyntheticScenesDataset`` reads
through the ordinary loading path::

    data_root/images/{id}.png              RGB image
             segmentation/{id}.png         class ids (uint8)
             depth/{id}.npy                float32 [H, W] metres
             normals/{id}.png              16-bit RGB, n = v / 65535 * 2 - 1
             edge/{id}.png                 0 / 255
             sal/{id}.png                  0 / 255
             human_parts/{id}.png          part ids (uint8)
             gt_sets/{train,val}.txt       image ids
             manifest.json                 generation parameters

Generation is deterministic from (seed, split, index).
"""
import fcntl
import json
import os
import os.path as osp
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmdmtl.registry import DATASETS
from .file_io import read_id_list, write_atomic_text
from .multi_task_dataset import MultiTaskDataset

GENERATOR_VERSION = 1

SYNTHETIC_CLASSES = ('floor', 'wall', 'ceiling', 'window', 'rug', 'box',
                     'sphere', 'cylinder', 'figure')
SYNTHETIC_PALETTE = [[140, 110, 80], [200, 195, 180], [235, 235, 235],
                     [120, 180, 230], [160, 40, 60], [170, 120, 60],
                     [60, 160, 90], [70, 90, 180], [230, 160, 40]]
SYNTHETIC_PART_CLASSES = ('background', 'head', 'torso', 'upper_arm',
                          'lower_arm', 'upper_leg', 'lower_leg')
SYNTHETIC_PART_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                          [0, 0, 128], [128, 0, 128], [0, 128, 128]]

FLOOR, WALL, CEILING, WINDOW, RUG, BOX, SPHERE, CYLINDER, FIGURE = range(9)
FOREGROUND = (BOX, SPHERE, CYLINDER, FIGURE)
SUBDIRS = ('images', 'segmentation', 'depth', 'normals', 'edge', 'sal',
           'human_parts', 'gt_sets')
_EPS = 1e-6


# --------------------------------------------------------------- primitives
def _mul(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``a @ m`` for a [N, 3] and a 3x3 ``m`` without BLAS (numpy's matmul
    is ~10x slower for this shape, and multi-threaded)."""
    return (a[:, 0:1] * m[0][None] + a[:, 1:2] * m[1][None] +
            a[:, 2:3] * m[2][None])


def _safe(d: np.ndarray) -> np.ndarray:
    """Directions with zero components nudged so slab divisions are finite."""
    return np.where(np.abs(d) < _EPS, _EPS, d)


def _room_hit(o, d, lo, hi):
    """Exit point of rays starting inside the box [lo, hi]: (t, face axis,
    +/- side). The normal of the hit face points inwards."""
    ds = _safe(d)
    far = np.where(ds > 0, hi[None], lo[None])
    tk = (far - o[None]) / ds
    axis = np.argmin(tk, axis=1)
    t = tk[np.arange(len(d)), axis]
    positive = ds[np.arange(len(d)), axis] > 0
    return t, axis, positive


def _box_hit(o, d, center, half, yaw):
    """Ray / oriented box (yaw about the vertical axis): (t, normal)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # local -> world
    ol = (o - center) @ rot
    dl = _safe(_mul(d, rot))
    t1 = (-half[None] - ol[None]) / dl
    t2 = (half[None] - ol[None]) / dl
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    axis = np.argmax(tmin, axis=1)
    near = tmin[np.arange(len(d)), axis]
    far = tmax.min(axis=1)
    hit = (near <= far) & (near > _EPS)
    t = np.where(hit, near, np.inf)
    nl = np.zeros_like(d)
    nl[np.arange(len(d)), axis] = -np.sign(dl[np.arange(len(d)), axis])
    return t, _mul(nl, rot.T)


def _sphere_hit(o, d, center, radius):
    oc = o - center
    b = d @ oc
    c = oc @ oc - radius * radius
    disc = b * b - c
    hit = disc >= 0
    t = -b - np.sqrt(np.where(hit, disc, 0))
    t = np.where(hit & (t > _EPS), t, np.inf)
    p = o[None] + t[:, None] * d
    n = (p - center[None]) / radius
    return t, n


def _cylinder_hit(o, d, base, radius, height):
    """Vertical capped cylinder standing on ``base`` (its bottom centre)."""
    ox, oz = o[0] - base[0], o[2] - base[2]
    dx, dz = d[:, 0], d[:, 2]
    a = np.maximum(dx * dx + dz * dz, _EPS)
    b = dx * ox + dz * oz
    c = ox * ox + oz * oz - radius * radius
    disc = b * b - a * c
    ok = disc >= 0
    ts = (-b - np.sqrt(np.where(ok, disc, 0))) / a
    y = o[1] + ts * d[:, 1]
    side = ok & (ts > _EPS) & (y >= base[1]) & (y <= base[1] + height)
    t_side = np.where(side, ts, np.inf)
    dy = _safe(d[:, 1])
    tc = (base[1] + height - o[1]) / dy
    px, pz = ox + tc * dx, oz + tc * dz
    cap = (tc > _EPS) & (px * px + pz * pz <= radius * radius)
    t_cap = np.where(cap, tc, np.inf)
    t = np.minimum(t_side, t_cap)
    p = o[None] + t[:, None] * d
    n = np.zeros_like(d)
    n[:, 0] = (p[:, 0] - base[0]) / radius
    n[:, 2] = (p[:, 2] - base[2]) / radius
    use_cap = t_cap < t_side
    n[use_cap] = (0.0, 1.0, 0.0)
    return t, n


def _capsule_hit(o, d, a, b, radius):
    """Ray / capsule (segment a-b, radius) for unit directions d."""
    ba, oa = b - a, o - a
    baba = ba @ ba
    bard = d @ ba
    baoa = ba @ oa
    rdoa = d @ oa
    oaoa = oa @ oa
    qa = baba - bard * bard
    qb = baba * rdoa - baoa * bard
    qc = baba * oaoa - baoa * baoa - radius * radius * baba
    h = qb * qb - qa * qc
    t = np.full(len(d), np.inf)
    ok = (h >= 0) & (qa > _EPS)
    tb = (-qb - np.sqrt(np.where(ok, h, 0))) / np.where(ok, qa, 1)
    y = baoa + tb * bard
    body = ok & (y > 0) & (y < baba) & (tb > _EPS)
    t[body] = tb[body]
    # End caps: spheres at a and b.
    for end in (a, b):
        ts, _ = _sphere_hit(o, d, end, radius)
        t = np.minimum(t, ts)
    p = o[None] + t[:, None] * d
    u = np.clip(((p - a) @ ba) / baba, 0, 1)
    n = p - (a[None] + u[:, None] * ba[None])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), _EPS)
    return t, n


# ------------------------------------------------------------------- scene
def _sample_scene(rng: np.random.Generator) -> dict:
    room_w = rng.uniform(5.0, 7.0)
    room_h = rng.uniform(2.6, 3.2)
    room_d = rng.uniform(7.0, 9.0)
    lo = np.array([-room_w / 2, 0.0, 0.0])
    hi = np.array([room_w / 2, room_h, room_d])
    cam = np.array([rng.uniform(-0.6, 0.6), rng.uniform(1.2, 1.8), 0.4])
    scene = dict(lo=lo, hi=hi, cam=cam,
                 yaw=rng.uniform(-0.25, 0.25), pitch=rng.uniform(0.08, 0.3),
                 hfov=rng.uniform(np.deg2rad(55), np.deg2rad(70)),
                 light=np.array([rng.uniform(-0.6, 0.6), 1.0,
                                 rng.uniform(-0.8, -0.2)]),
                 window=dict(wall=int(rng.integers(0, 3)),
                             u=rng.uniform(-1.5, 0.5), w=rng.uniform(0.9, 1.8),
                             y=rng.uniform(0.9, 1.3), h=rng.uniform(0.8, 1.2)),
                 rug=dict(x=rng.uniform(-1.5, 0.5), z=rng.uniform(2.0, 4.0),
                          w=rng.uniform(1.0, 2.2), d=rng.uniform(1.0, 2.0),
                          color=rng.uniform(0.7, 1.3, 3)))
    # Foreground objects on the floor, kept apart by their footprint radius.
    placed: List[Tuple[float, float, float]] = []

    def place(radius):
        for _ in range(30):
            x = rng.uniform(lo[0] + radius + 0.2, hi[0] - radius - 0.2)
            z = rng.uniform(2.2, hi[2] - radius - 0.3)
            if all((x - px)**2 + (z - pz)**2 > (radius + pr + 0.15)**2
                   for px, pz, pr in placed):
                placed.append((x, z, radius))
                return x, z
        return None

    objects = []
    # The figure first, inside the camera's view so that its parts show.
    height = rng.uniform(1.4, 1.9)
    fz = rng.uniform(2.5, min(6.0, hi[2] - 0.8))
    reach = fz - cam[2]
    half_view = 0.5 * reach * np.tan(scene['hfov'] / 2)
    fx = float(np.clip(cam[0] + reach * np.tan(scene['yaw']) +
                       rng.uniform(-half_view, half_view), lo[0] + 0.6,
                       hi[0] - 0.6))
    placed.append((fx, fz, 0.45 * height / 1.7))
    objects.append(dict(kind=FIGURE, x=fx, z=fz, height=height,
                        yaw=rng.uniform(-0.8, 0.8),
                        arms=rng.uniform(-1.2, 1.2, 4),
                        legs=rng.uniform(-0.5, 0.5, 4),
                        color=rng.uniform(0.75, 1.25, 3)))
    for _ in range(int(rng.integers(2, 6))):
        kind = int(rng.choice([BOX, SPHERE, CYLINDER]))
        size = rng.uniform(0.3, 0.8)
        pos = place(size * (0.75 if kind == BOX else 1.0))
        if pos is None:
            continue
        obj = dict(kind=kind, x=pos[0], z=pos[1], size=size,
                   color=rng.uniform(0.7, 1.3, 3))
        if kind == BOX:
            obj.update(half=np.array([size * rng.uniform(0.5, 0.9),
                                      size * rng.uniform(0.4, 1.1),
                                      size * rng.uniform(0.5, 0.9)]),
                       yaw=rng.uniform(-np.pi, np.pi))
        elif kind == SPHERE:
            obj.update(radius=size * 0.6)
        else:
            obj.update(radius=size * 0.45, height=rng.uniform(0.5, 1.6))
        objects.append(obj)
    scene['objects'] = objects
    return scene


def _figure_primitives(obj: dict) -> List[tuple]:
    """Capsules/sphere of the jointed figure: (part id, kind, params)."""
    s = obj['height'] / 1.7
    c, sn = np.cos(obj['yaw']), np.sin(obj['yaw'])
    root = np.array([obj['x'], 0.0, obj['z']])

    def w(p):  # local (x right, y up, z back) -> world
        x, y, z = p
        return root + np.array([c * x + sn * z, y, -sn * x + c * z]) * s

    prims = []
    pelvis, neck = np.array([0, 0.95, 0]), np.array([0, 1.42, 0])
    prims.append((2, 'capsule', (w(pelvis), w(neck), 0.16 * s)))
    prims.append((1, 'sphere', (w(neck + [0, 0.16, 0]), 0.12 * s)))
    arms, legs = obj['arms'], obj['legs']
    for side, sgn in ((0, -1), (1, 1)):
        sh = np.array([sgn * 0.24, 1.36, 0])
        a1 = arms[2 * side] * sgn
        elbow = sh + 0.3 * np.array([np.sin(abs(a1)) * sgn, -np.cos(a1), 0.1])
        a2 = a1 + arms[2 * side + 1] * 0.5
        hand = elbow + 0.28 * np.array([np.sin(abs(a2)) * sgn, -np.cos(a2),
                                        0.15])
        prims.append((3, 'capsule', (w(sh), w(elbow), 0.055 * s)))
        prims.append((4, 'capsule', (w(elbow), w(hand), 0.045 * s)))
        hip = np.array([sgn * 0.1, 0.93, 0])
        l1 = legs[2 * side]
        knee = hip + 0.44 * np.array([0.05 * sgn, -np.cos(l1), np.sin(l1)])
        l2 = l1 - abs(legs[2 * side + 1])
        foot = knee + 0.44 * np.array([0.0, -np.cos(l2), np.sin(l2)])
        foot[1] = max(foot[1], 0.06)
        prims.append((5, 'capsule', (w(hip), w(knee), 0.075 * s)))
        prims.append((6, 'capsule', (w(knee), w(foot), 0.06 * s)))
    return prims


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


def _bounding_sphere(obj: dict) -> Tuple[np.ndarray, float]:
    kind = obj['kind']
    if kind == BOX:
        half = obj['half']
        return np.array([obj['x'], half[1], obj['z']]), float(
            np.linalg.norm(half)) + 1e-3
    if kind == SPHERE:
        r = obj['radius']
        return np.array([obj['x'], r, obj['z']]), r + 1e-3
    if kind == CYLINDER:
        r, h = obj['radius'], obj['height']
        return np.array([obj['x'], h / 2, obj['z']]), float(
            np.hypot(r, h / 2)) + 1e-3
    h = obj['height']
    return np.array([obj['x'], h / 2, obj['z']]), 0.62 * h


def _rays_through(o, d, centre, radius) -> np.ndarray:
    """Indices of the (unit) rays that pass within ``radius`` of ``centre``
    in front of the camera."""
    oc = centre - o
    along = d @ oc
    dist2 = oc @ oc - along * along
    return np.nonzero((dist2 <= radius * radius) &
                      (along > -radius))[0]


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
    t, axis, positive = _room_hit(o, d, scene['lo'], scene['hi'])
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
        centre, radius = _bounding_sphere(obj)
        sub = _rays_through(o, d, centre, radius)
        if not len(sub):
            continue
        ds = d[sub]
        if kind == BOX:
            center = np.array([obj['x'], obj['half'][1], obj['z']])
            tn, nn = _box_hit(o, ds, center, obj['half'], obj['yaw'])
            merge(tn, nn, BOX, k, color=obj['color'], subset=sub)
        elif kind == SPHERE:
            center = np.array([obj['x'], obj['radius'], obj['z']])
            tn, nn = _sphere_hit(o, ds, center, obj['radius'])
            merge(tn, nn, SPHERE, k, color=obj['color'], subset=sub)
        elif kind == CYLINDER:
            base = np.array([obj['x'], 0.0, obj['z']])
            tn, nn = _cylinder_hit(o, ds, base, obj['radius'], obj['height'])
            merge(tn, nn, CYLINDER, k, color=obj['color'], subset=sub)
        else:
            for part_id, pkind, params in _figure_primitives(obj):
                # Each limb covers a small part of the figure's rays: cull
                # again with the limb's own bounding sphere (exact).
                if pkind == 'sphere':
                    c_p, r_p = params
                else:
                    c_p = (params[0] + params[1]) / 2
                    r_p = np.linalg.norm(params[1] - params[0]) / 2 + params[2]
                keep = _rays_through(o, ds, c_p, r_p + 1e-3)
                if not len(keep):
                    continue
                dk = ds[keep]
                if pkind == 'sphere':
                    tn, nn = _sphere_hit(o, dk, *params)
                else:
                    tn, nn = _capsule_hit(o, dk, *params)
                merge(tn, nn, FIGURE, k, part_id=part_id, subset=sub[keep],
                      color=_PART_TINT[part_id] * obj['color'])

    p = o[None] + t[:, None] * d
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    n_cam = _mul(normal, rot.T)
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
    scene = _sample_scene(rng)
    return render_scene(scene, tuple(size), rng)


# ------------------------------------------------------------------ writing
def sample_id(split: str, index: int) -> str:
    return f'{split}_{index:06d}'


def _write_sample(root: str, sid: str, s: Dict[str, np.ndarray]) -> None:
    png = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    cv2.imwrite(osp.join(root, 'images', sid + '.png'), s['image'][..., ::-1],
                png)
    cv2.imwrite(osp.join(root, 'segmentation', sid + '.png'), s['semseg'], png)
    np.save(osp.join(root, 'depth', sid + '.npy'), s['depth'])
    n16 = np.round((s['normals'] + 1) * 0.5 * 65535).astype(np.uint16)
    cv2.imwrite(osp.join(root, 'normals', sid + '.png'), n16[..., ::-1], png)
    cv2.imwrite(osp.join(root, 'edge', sid + '.png'), s['edge'] * 255, png)
    cv2.imwrite(osp.join(root, 'sal', sid + '.png'), s['sal'] * 255, png)
    cv2.imwrite(osp.join(root, 'human_parts', sid + '.png'), s['human_parts'],
                png)


def _generate_range(args) -> None:
    root, seed, split, start, stop, size = args
    for i in range(start, stop):
        _write_sample(root, sample_id(split, i),
                      generate_sample(seed, split, i, size))


def synthetic_manifest(num_train: int, num_val: int, size: Sequence[int],
                       seed: int) -> dict:
    return dict(
        generator='mmdmtl.SyntheticScenes',
        version=GENERATOR_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        size=[int(size[0]), int(size[1])],
        seed=int(seed))


def _is_synthetic_root(path: str) -> bool:
    """Whether ``path`` holds a (complete or started) SyntheticScenes copy that
    mmdmtl wrote: its manifest.json names this generator."""
    try:
        with open(osp.join(path, 'manifest.json')) as f:
            return json.load(f).get('generator') == 'mmdmtl.SyntheticScenes'
    except (OSError, ValueError, AttributeError):
        return False


_OWN_FILE = re.compile(r'^(train|val)_\d{6}\.(png|npy)$')


def _remove_own_files(data_root: str) -> None:
    """Delete only the files this generator writes (``{split}_{index}.png/npy``
    in its sub-folders and ``gt_sets/{train,val}.txt``); anything else a user
    put there stays."""
    for sub in SUBDIRS:
        d = osp.join(data_root, sub)
        if not osp.isdir(d):
            continue
        for name in os.listdir(d):
            own = (name in ('train.txt', 'val.txt') if sub == 'gt_sets' else
                   bool(_OWN_FILE.match(name)))
            if own:
                os.remove(osp.join(d, name))


def generate_synthetic_scenes(data_root: str,
                              num_train: int = 200,
                              num_val: int = 50,
                              size: Sequence[int] = (128, 128),
                              seed: int = 0,
                              num_workers: int = 0,
                              force: bool = False) -> bool:
    """Write the dataset to ``data_root`` unless the manifest there already
    matches these parameters. Returns True when it generated.

    ``data_root`` must be absent, empty, or a folder mmdmtl wrote (its
    ``manifest.json`` or the ``.mmdmtl_output.json`` marker): any other folder
    (e.g. a real dataset in the same layout) raises ``OutputExistsError``
    before anything is written. Regenerating replaces only the files the
    generator writes.

    Safe to call from several processes at once (a file lock serialises them;
    the later ones find the manifest and return).
    """
    from mmdmtl.utils.safe_output import claim_output_dir, check_output_dir
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f'size must be (h, w) >= 8, got {size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train/num_val must be >= 0')
    what = 'SyntheticScenes data_root'
    # Checked before anything (even the lock file) is written into it.
    check_output_dir(data_root, what, owned=_is_synthetic_root)
    os.makedirs(data_root, exist_ok=True)
    wanted = synthetic_manifest(num_train, num_val, size, seed)
    manifest_path = osp.join(data_root, 'manifest.json')
    with open(osp.join(data_root, '.generate.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not force and osp.isfile(manifest_path):
                with open(manifest_path) as f:
                    try:
                        if json.load(f) == wanted:
                            return False
                    except json.JSONDecodeError:
                        pass
            # Again under the lock (another process may have written since);
            # then mark the folder as ours before the first data file.
            claim_output_dir(data_root, 'mmdmtl.SyntheticScenes', what,
                             owned=_is_synthetic_root)
            if osp.isfile(manifest_path):
                os.remove(manifest_path)
            _remove_own_files(data_root)
            for sub in SUBDIRS:
                os.makedirs(osp.join(data_root, sub), exist_ok=True)
            jobs = []
            chunk = 32
            for split, n in (('train', num_train), ('val', num_val)):
                for start in range(0, n, chunk):
                    jobs.append((data_root, seed, split, start,
                                 min(start + chunk, n), tuple(size)))
            if num_workers and num_workers > 1 and len(jobs) > 1:
                import multiprocessing as mp
                with mp.get_context('fork').Pool(num_workers) as pool:
                    pool.map(_generate_range, jobs)
            else:
                for job in jobs:
                    _generate_range(job)
            for split, n in (('train', num_train), ('val', num_val)):
                write_atomic_text(
                    osp.join(data_root, 'gt_sets', f'{split}.txt'),
                    ''.join(sample_id(split, i) + '\n' for i in range(n)))
            # The manifest goes last: its presence means "complete".
            write_atomic_text(manifest_path, json.dumps(wanted, indent=1))
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@DATASETS.register_module()
class SyntheticScenesDataset(MultiTaskDataset):
    """The embedded default dataset: procedurally ray-cast rooms (see the
    module docstring) with exact labels for all six tasks.

    Generated to ``data_root`` on first use (or when the generation parameters
    differ from ``data_root/manifest.json``), then read back through the
    ordinary loading path like any other dataset.

    Args:
        split (str): 'train' or 'val'.
        generate (dict, optional): generation parameters ``num_train``,
            ``num_val``, ``size`` (h, w), ``seed``, ``num_workers``; None: use
            what is on disk (error if nothing is).
        Other args: see ``MultiTaskDataset``.
    """
    AVAILABLE_TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge',
                       'depth')
    METAINFO = dict(
        classes=SYNTHETIC_CLASSES,
        palette=SYNTHETIC_PALETTE,
        part_classes=SYNTHETIC_PART_CLASSES,
        part_palette=SYNTHETIC_PART_PALETTE,
        edge_max_dist=0.0075)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 generate: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'val'):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.split = split
        if generate is not None:
            unknown = set(generate) - {'num_train', 'num_val', 'size', 'seed',
                                       'num_workers'}
            if unknown:
                raise ValueError(f'unknown generate key(s) {sorted(unknown)}')
            self._ensure(data_root, generate)
        elif not osp.isfile(osp.join(data_root, 'manifest.json')):
            raise FileNotFoundError(
                f'no synthetic dataset in {data_root} (no manifest.json): pass '
                'generate=dict(...) or run '
                'tools/dataset_converters/generate_synthetic_scenes.py')
        kwargs.setdefault('ann_file', f'gt_sets/{split}.txt')
        super().__init__(data_root=data_root, **kwargs)

    @staticmethod
    def _ensure(data_root: str, generate: dict) -> None:
        from mmengine.dist import barrier, get_rank, is_distributed
        if get_rank() == 0:
            t0 = time.time()
            made = generate_synthetic_scenes(data_root, **generate)
            if made:
                from mmengine.logging import print_log
                print_log(f'generated SyntheticScenes in {data_root} '
                          f'({time.time() - t0:.1f} s): {generate}',
                          logger='current')
        if is_distributed():
            barrier()

    def _load_samples(self) -> List[dict]:
        root = self.data_root
        recs = dict(
            semseg=('segmentation', '.png', dict(fmt='png_class')),
            human_parts=('human_parts', '.png', dict(fmt='png_class')),
            sal=('sal', '.png', dict(fmt='png_binary', threshold=127)),
            normals=('normals', '.png', dict(fmt='png16_normals')),
            edge=('edge', '.png', dict(fmt='png_binary', threshold=127)),
            depth=('depth', '.npy', dict(fmt='npy_depth')))
        samples = []
        for sid in read_id_list(self.ann_file):
            ann = {
                t: dict(path=osp.join(root, recs[t][0], sid + recs[t][1]),
                        **recs[t][2])
                for t in self.tasks
            }
            samples.append(
                dict(img_path=osp.join(root, 'images', sid + '.png'),
                     sample_id=sid, ann_info=ann))
        return samples
