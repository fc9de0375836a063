"""Ray / primitive intersections of the SyntheticScenes renderer.

Vectorised over rays (numpy, no per-pixel loop): ``o`` is the ray origin (the
camera, shape [3]) and ``d`` the [N, 3] ray directions (unit length where a
function says so). Every ``*_hit`` returns the distance ``t`` along each ray
(``inf`` where it misses) and, except ``room_hit``, the surface normals [N, 3].
"""
import numpy as np

EPS = 1e-6


def mat3_mul(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``a @ m`` for a [N, 3] and a 3x3 ``m`` without BLAS (numpy's matmul
    is ~10x slower for this shape, and multi-threaded)."""
    return (a[:, 0:1] * m[0][None] + a[:, 1:2] * m[1][None] +
            a[:, 2:3] * m[2][None])


def nonzero_directions(d: np.ndarray) -> np.ndarray:
    """Directions with zero components nudged so slab divisions are finite."""
    return np.where(np.abs(d) < EPS, EPS, d)


def room_hit(o, d, lo, hi):
    """Exit point of rays starting inside the box [lo, hi]: (t, face axis,
    +/- side). The normal of the hit face points inwards."""
    ds = nonzero_directions(d)
    far = np.where(ds > 0, hi[None], lo[None])
    tk = (far - o[None]) / ds
    axis = np.argmin(tk, axis=1)
    t = tk[np.arange(len(d)), axis]
    positive = ds[np.arange(len(d)), axis] > 0
    return t, axis, positive


def box_hit(o, d, center, half, yaw):
    """Ray / oriented box (yaw about the vertical axis): (t, normal)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # local -> world
    ol = (o - center) @ rot
    dl = nonzero_directions(mat3_mul(d, rot))
    t1 = (-half[None] - ol[None]) / dl
    t2 = (half[None] - ol[None]) / dl
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    axis = np.argmax(tmin, axis=1)
    near = tmin[np.arange(len(d)), axis]
    far = tmax.min(axis=1)
    hit = (near <= far) & (near > EPS)
    t = np.where(hit, near, np.inf)
    nl = np.zeros_like(d)
    nl[np.arange(len(d)), axis] = -np.sign(dl[np.arange(len(d)), axis])
    return t, mat3_mul(nl, rot.T)


def sphere_hit(o, d, center, radius):
    oc = o - center
    b = d @ oc
    c = oc @ oc - radius * radius
    disc = b * b - c
    hit = disc >= 0
    t = -b - np.sqrt(np.where(hit, disc, 0))
    t = np.where(hit & (t > EPS), t, np.inf)
    p = o[None] + t[:, None] * d
    n = (p - center[None]) / radius
    return t, n


def cylinder_hit(o, d, base, radius, height):
    """Vertical capped cylinder standing on ``base`` (its bottom centre)."""
    ox, oz = o[0] - base[0], o[2] - base[2]
    dx, dz = d[:, 0], d[:, 2]
    a = np.maximum(dx * dx + dz * dz, EPS)
    b = dx * ox + dz * oz
    c = ox * ox + oz * oz - radius * radius
    disc = b * b - a * c
    ok = disc >= 0
    ts = (-b - np.sqrt(np.where(ok, disc, 0))) / a
    y = o[1] + ts * d[:, 1]
    side = ok & (ts > EPS) & (y >= base[1]) & (y <= base[1] + height)
    t_side = np.where(side, ts, np.inf)
    dy = nonzero_directions(d[:, 1])
    tc = (base[1] + height - o[1]) / dy
    px, pz = ox + tc * dx, oz + tc * dz
    cap = (tc > EPS) & (px * px + pz * pz <= radius * radius)
    t_cap = np.where(cap, tc, np.inf)
    t = np.minimum(t_side, t_cap)
    p = o[None] + t[:, None] * d
    n = np.zeros_like(d)
    n[:, 0] = (p[:, 0] - base[0]) / radius
    n[:, 2] = (p[:, 2] - base[2]) / radius
    use_cap = t_cap < t_side
    n[use_cap] = (0.0, 1.0, 0.0)
    return t, n


def capsule_hit(o, d, a, b, radius):
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
    ok = (h >= 0) & (qa > EPS)
    tb = (-qb - np.sqrt(np.where(ok, h, 0))) / np.where(ok, qa, 1)
    y = baoa + tb * bard
    body = ok & (y > 0) & (y < baba) & (tb > EPS)
    t[body] = tb[body]
    # End caps: spheres at a and b.
    for end in (a, b):
        ts, _ = sphere_hit(o, d, end, radius)
        t = np.minimum(t, ts)
    p = o[None] + t[:, None] * d
    u = np.clip(((p - a) @ ba) / baba, 0, 1)
    n = p - (a[None] + u[:, None] * ba[None])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), EPS)
    return t, n



def rays_through(o, d, centre, radius) -> np.ndarray:
    """Indices of the (unit) rays that pass within ``radius`` of ``centre``
    in front of the camera."""
    oc = centre - o
    along = d @ oc
    dist2 = oc @ oc - along * along
    return np.nonzero((dist2 <= radius * radius) &
                      (along > -radius))[0]

