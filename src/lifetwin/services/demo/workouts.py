"""The demo person's training: runs and rides around Berlin with heart rate and a route.

A week holds interval runs on Tuesday, an easy ride on Wednesday, an easy run on
Thursday, a long ride on Saturday and a long run on Sunday (a session is sometimes
skipped). Each session is an intensity profile per minute — a fraction of the heart-rate
reserve, with warm-up, the session's own shape (intervals, cardiac drift on long efforts,
traffic stops on rides) and cool-down — from which follow the heart rate (a first-order
response with correlated noise), the speed, the distance, the energy and a GPS route: a
closed loop from home of the session's length, sampled every few seconds with correlated
GPS error and Berlin's gentle elevation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

HOME_LAT_LON = (52.4957, 13.4231)  # Kreuzberg, by the Landwehr canal
HR_MAX_BPM = 186.0
EARTH_RADIUS_M = 6_371_000.0
M_PER_DEG_LAT = 111_320.0
ROUTE_COLUMNS = ["time_ms", "lat", "lon", "ele"]  # as the FIT, TCX, GPX and Apple connectors

# weekday (Monday 0) -> sport, style, local start hour (None: soon after waking), minutes
WEEK: dict[int, tuple[str, str, float | None, tuple[int, int]]] = {
    1: ("run", "intervals", 18.5, (45, 56)),
    2: ("ride", "easy", 18.0, (50, 71)),
    3: ("run", "easy", None, (35, 46)),
    5: ("ride", "long", 10.0, (100, 141)),
    6: ("run", "long", 9.5, (70, 96)),
}
TITLES = {"run": "Running", "ride": "Cycling"}


@dataclass(frozen=True)
class Session:
    """One workout, minute by minute."""

    sport: str  # run or ride
    style: str  # intervals, easy or long
    intensity: F64  # fraction of the heart-rate reserve, per minute
    speed_m_s: F64  # per minute

    @property
    def title(self) -> str:
        return TITLES[self.sport]

    @property
    def minutes(self) -> int:
        return len(self.intensity)


def _smooth_noise(rng: np.random.Generator, n: int, sd: float, rho: float) -> F64:
    """AR(1) noise with standard deviation ``sd`` and lag-one correlation ``rho``."""
    shocks = rng.normal(0.0, sd * math.sqrt(1 - rho * rho), n)
    out = np.empty(n)
    level = rng.normal(0.0, sd)
    for i in range(n):
        level = rho * level + shocks[i]
        out[i] = level
    return out


def intensity_profile(rng: np.random.Generator, sport: str, style: str, minutes: int) -> F64:
    """A session's intensity per minute as a fraction of the heart-rate reserve.

    >>> p = intensity_profile(np.random.default_rng(0), "run", "intervals", 50)
    >>> len(p), bool(p.max() > 0.8), bool(p[:5].mean() < 0.55), bool(p[-1] < 0.45)
    (50, True, True, True)
    """
    t = np.arange(minutes, dtype=np.float64)
    wiggle = _smooth_noise(rng, minutes, 0.02 if sport == "run" else 0.06, 0.8)
    if sport == "run" and style == "intervals":
        base = np.full(minutes, 0.55)
        rep_start = 10
        for _ in range(6):
            if rep_start + 6 > minutes - 6:
                break
            base[rep_start : rep_start + 4] = 0.88 + rng.normal(0, 0.015)
            base[rep_start + 4 : rep_start + 6] = 0.50
            rep_start += 6
        level = base
    elif sport == "run":
        start = 0.64 if style == "easy" else 0.60
        drift = 0.03 if style == "easy" else 0.10  # cardiac drift on a long effort
        level = start + rng.normal(0, 0.02) + drift * t / max(minutes - 1, 1)
    else:
        start = 0.50 if style == "easy" else 0.55
        level = start + rng.normal(0, 0.02) + 0.05 * t / max(minutes - 1, 1)
        stops = rng.random(minutes) < 0.08  # traffic lights in the city
        level = np.where(stops, 0.32, level)
    profile = level + wiggle
    warm = min(8, minutes // 4)
    profile[:warm] = np.linspace(0.35, profile[warm], warm, endpoint=False)
    cool = min(5, minutes // 6)
    if cool:
        profile[-cool:] = np.linspace(profile[-cool - 1], 0.35, cool)
    return np.asarray(np.clip(profile, 0.25, 0.97), dtype=np.float64)


def session(
    rng: np.random.Generator, sport: str, style: str, minutes: int, fitness: float = 1.0
) -> Session:
    """A session with its speed per minute (``fitness`` scales the usual speeds)."""
    intensity = intensity_profile(rng, sport, style, minutes)
    if sport == "run":
        usual = {"intervals": 3.1, "easy": 2.95, "long": 2.85}[style]
        speed = usual * (intensity / intensity.mean()) ** 0.9
    else:
        usual = 6.7 if style == "easy" else 7.0
        speed = usual * (intensity / intensity.mean()) ** 0.5
        speed = np.where(intensity <= 0.33, speed * 0.35, speed)
    return Session(sport, style, intensity, np.asarray(speed * fitness * rng.normal(1, 0.02)))


def heart_rate(
    rng: np.random.Generator, intensity: F64, resting_bpm: float, hr_max_bpm: float = HR_MAX_BPM
) -> F64:
    """Heart rate per minute: a first-order response to the intensity, with correlated noise.

    >>> p = np.r_[np.full(10, 0.3), np.full(20, 0.85)]
    >>> hr = heart_rate(np.random.default_rng(1), p, 55.0)
    >>> bool(hr[:8].mean() < 110), bool(160 < hr[-5:].mean() < 172)
    (True, True)
    """
    target = resting_bpm + intensity * (hr_max_bpm - resting_bpm)
    out = np.empty(len(intensity))
    level = resting_bpm + 25.0  # standing, ready to go
    rise, fall = 1 - math.exp(-1 / 1.0), 1 - math.exp(-1 / 1.6)
    for i, aim in enumerate(target.tolist()):
        level += (aim - level) * (rise if aim > level else fall)
        out[i] = level
    noisy = out + _smooth_noise(rng, len(out), 1.8, 0.6)
    return np.asarray(np.round(np.clip(noisy, 40, hr_max_bpm + 2)), dtype=np.float64)


def energy_kcal(sess: Session, body_mass_kg: float) -> F64:
    """Active energy per minute: about 1 kcal per kg per km running, cycling by its METs."""
    if sess.sport == "run":
        return np.asarray(0.95 * body_mass_kg * sess.speed_m_s * 60 / 1000, dtype=np.float64)
    mets = 0.32 * sess.speed_m_s * 3.6
    return np.asarray(np.clip(mets - 1, 0.5, None) * body_mass_kg / 60, dtype=np.float64)


def segment_lengths_m(lat: F64, lon: F64) -> F64:
    """Great-circle lengths between consecutive points (haversine).

    >>> round(float(segment_lengths_m(np.array([52.5, 52.5]), np.array([13.4, 13.41]))[0]))
    677
    """
    la, lo = np.radians(lat), np.radians(lon)
    h = (
        np.sin(np.diff(la) / 2) ** 2
        + np.cos(la[:-1]) * np.cos(la[1:]) * np.sin(np.diff(lo) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=np.float64)


def _loop(rng: np.random.Generator, length_m: float) -> tuple[F64, F64, F64]:
    """A smooth random closed loop of ``length_m`` starting at (0, 0): x, y (m) and the
    distance along it at each of its vertices."""
    theta = np.linspace(0, 2 * np.pi, 2049)
    radius = np.ones_like(theta)
    for k in (2, 3, 4):
        radius += rng.uniform(0, 0.12) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(14, 26, 3):  # the bends of streets and paths
        radius += 0.006 * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x, y = radius * np.cos(theta), radius * np.sin(theta)
    first = int(rng.integers(0, 2048))
    x = np.r_[x[first:-1], x[:first], x[first]]
    y = np.r_[y[first:-1], y[:first], y[first]]
    if rng.random() < 0.5:  # clockwise or not
        x, y = x[::-1], y[::-1]
    rotate = rng.uniform(0, 2 * np.pi)
    x, y = x * math.cos(rotate) - y * math.sin(rotate), x * math.sin(rotate) + y * math.cos(rotate)
    along = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    scale = length_m / along[-1]
    return (x - x[0]) * scale, (y - y[0]) * scale, along * scale


def route(
    rng: np.random.Generator,
    sess: Session,
    start_ms: int,
    home: tuple[float, float] = HOME_LAT_LON,
    target_points: int = 300,
) -> list[list[float]]:
    """The session's GPS track: [time_ms, lat, lon, ele] every few seconds along a loop from
    home whose length is the distance the speeds cover.

    >>> s = session(np.random.default_rng(2), "run", "easy", 40)
    >>> track = route(np.random.default_rng(3), s, 1_700_000_000_000)
    >>> 200 <= len(track) <= 400, track[0][0], track[-1][0] - track[0][0]
    (True, 1700000000000, 2400000)
    >>> lat, lon = np.array([p[1] for p in track]), np.array([p[2] for p in track])
    >>> total = float(segment_lengths_m(lat, lon).sum())
    >>> bool(abs(total / float(s.speed_m_s.sum() * 60) - 1) < 0.05)
    True
    """
    duration_s = sess.minutes * 60
    step_s = int(np.clip(round(duration_s / target_points), 3, 30))
    t = np.arange(0, duration_s + 1, step_s, dtype=np.float64)
    if t[-1] != duration_s:
        t = np.r_[t, float(duration_s)]
    covered = np.r_[0.0, np.cumsum(sess.speed_m_s * 60)]
    s = np.interp(t, np.arange(sess.minutes + 1) * 60.0, covered)
    x, y, along = _loop(rng, float(covered[-1]))
    east = np.interp(s, along, x) + _smooth_noise(rng, len(t), 2.5, 0.85)
    north = np.interp(s, along, y) + _smooth_noise(rng, len(t), 2.5, 0.85)
    lat0, lon0 = home
    lat = lat0 + north / M_PER_DEG_LAT
    lon = lon0 + east / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    phase = rng.uniform(0, 2 * np.pi, 2)
    ele = (
        38.0
        + 5.0 * np.sin(2 * np.pi * s / 2900 + phase[0])
        + 1.5 * np.sin(2 * np.pi * s / 700 + phase[1])
        + _smooth_noise(rng, len(t), 0.25, 0.9)
    )
    times = (start_ms + t * 1000).astype(np.int64).tolist()
    return [
        [int(ms), round(a, 6), round(o, 6), round(e, 1)]
        for ms, a, o, e in zip(times, lat.tolist(), lon.tolist(), ele.tolist(), strict=True)
    ]


def ascent_m(track: list[list[float]]) -> float:
    """Total climb of a track, counting rises of the elevation smoothed over 5 points."""
    ele = np.array([p[3] for p in track])
    if len(ele) < 6:
        return 0.0
    smooth = np.convolve(ele, np.ones(5) / 5, mode="valid")
    return round(float(np.clip(np.diff(smooth), 0, None).sum()), 1)
