"""The SyntheticScenes scene model: label classes and random rooms.

A scene is a room (floor, walls, ceiling, with a window on a wall and a rug on
the floor) holding a few boxes, spheres and vertical cylinders and one jointed
"figure" (a sphere head and capsule torso/limbs), seen by a pinhole camera.
``sample_scene`` draws one from a generator; ``renderer.render_scene`` ray-casts
it.
"""
from typing import List, Tuple

import numpy as np

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



def sample_scene(rng: np.random.Generator) -> dict:
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


def figure_primitives(obj: dict) -> List[tuple]:
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



def bounding_sphere(obj: dict) -> Tuple[np.ndarray, float]:
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

