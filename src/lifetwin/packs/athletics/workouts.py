"""The arithmetic of workouts and activity, pure functions over arrays: heart-rate zones,
time in zones, a GPS track projected to metres (drawn offline, no map tiles), a scale bar,
kilometre splits, and daily totals that do not count a step twice.

Zones are the common five bands of the maximum heart rate (50–60, 60–70, 70–80, 80–90 and
90–100 %; Edwards 1993, as most watches show them). The maximum is the person's own
(profile fact ``max_heart_rate_bpm``, from a field test) or else the 220 − age estimate
(Fox et al. 1971), which is off by 10 bpm or more for many people — the surfaces say which
was used.

Routes are projected with an equirectangular projection around the track's centre
(x east, y north, in metres): within a few kilometres the distortion is far below the GPS
error, and it needs nothing from the internet.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
EARTH_RADIUS_M = 6_371_008.8
ZONE_PCT = (50, 60, 70, 80, 90, 100)
ZONE_NAMES = ("Very light", "Light", "Moderate", "Hard", "Maximum")


def max_hr_from_age(age_years: float) -> float:
    """The 220 − age estimate of the maximum heart rate.

    >>> max_hr_from_age(41)
    179.0
    """
    return float(220 - round(age_years))


def zone_bounds(hr_max_bpm: float) -> list[tuple[float, float]]:
    """The five zones' [low, high) heart rates in bpm.

    >>> zone_bounds(200)[0], zone_bounds(200)[-1]
    ((100.0, 120.0), (180.0, 200.0))
    """
    cuts = [hr_max_bpm * p / 100 for p in ZONE_PCT]
    return [(round(cuts[i], 1), round(cuts[i + 1], 1)) for i in range(5)]


def sample_weights_s(ts_ms: I64, end_ms: int, cap_s: float = 120.0) -> F64:
    """Seconds each heart-rate sample stands for: until the next sample (the last one
    until the workout's end), at most ``cap_s`` (a gap in the recording is not counted).

    >>> sample_weights_s(np.array([0, 60_000, 120_000]), 150_000).tolist()
    [60.0, 60.0, 30.0]
    """
    if len(ts_ms) == 0:
        return np.zeros(0)
    nxt = np.r_[ts_ms[1:], max(end_ms, int(ts_ms[-1]))]
    return np.asarray(np.clip((nxt - ts_ms) / 1000.0, 0.0, cap_s), dtype=np.float64)


def zone_minutes(bpm: F64, weights_s: F64, hr_max_bpm: float) -> list[float]:
    """Minutes below zone 1, then in zones 1 to 5 (above the maximum counts as zone 5).

    >>> zone_minutes(np.array([90.0, 130, 150, 150, 195]), np.full(5, 60.0), 190)
    [1.0, 0.0, 1.0, 2.0, 0.0, 1.0]
    """
    pct = bpm / hr_max_bpm * 100
    index = np.clip(np.searchsorted(ZONE_PCT, pct, side="right"), 0, 5)
    minutes = np.bincount(index, weights=weights_s, minlength=6) / 60.0
    return [round(float(m), 1) for m in minutes]


def project_m(lat: F64, lon: F64) -> tuple[F64, F64]:
    """East and north offsets in metres from the track's centre.

    >>> x, y = project_m(np.array([52.5, 52.5, 52.51]), np.array([13.4, 13.41, 13.41]))
    >>> round(float(x[1] - x[0])), round(float(y[2] - y[1]))
    (677, 1112)
    """
    lat0 = math.radians(float(np.mean(lat)))
    lon0 = float(np.mean(lon))
    y = np.radians(lat - float(np.mean(lat))) * EARTH_RADIUS_M
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(lat0)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


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
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))), dtype=np.float64)


def scale_bar_m(extent_m: float) -> float:
    """A round length (1, 2 or 5 × 10ⁿ m) of at most a fifth of the drawing's width.

    >>> scale_bar_m(4300), scale_bar_m(900), scale_bar_m(12000)
    (500.0, 100.0, 2000.0)
    """
    target = max(extent_m / 5, 1.0)
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def thin(n: int, most: int) -> I64:
    """Indices of at most ``most`` evenly spread points of ``n`` (first and last kept).

    >>> thin(10, 4).tolist(), thin(3, 5).tolist()
    ([0, 3, 6, 9], [0, 1, 2])
    """
    if n <= most:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, n - 1, most)).astype(np.int64))


def km_splits(times_ms: I64, lat: F64, lon: F64) -> list[tuple[float, float]]:
    """Each whole kilometre (and the last part) as (its length in km, seconds it took),
    times interpolated where the track crosses each kilometre.

    >>> lat = 52.5 + np.arange(0, 2.5, 0.1) / 111.195
    >>> t = (np.arange(len(lat)) * 30_000).astype(np.int64)
    >>> [(km, round(s)) for km, s in km_splits(t, lat, np.full(len(lat), 13.4))]
    [(1.0, 300), (1.0, 300), (0.4, 120)]
    """
    if len(times_ms) < 2:
        return []
    along = np.r_[0.0, np.cumsum(segment_lengths_m(lat, lon))]
    total = float(along[-1])
    marks = np.r_[np.arange(1000.0, total, 1000.0), total]
    at_s: F64 = np.asarray(np.interp(marks, along, times_ms / 1000.0), dtype=np.float64)
    starts_s = np.r_[times_ms[0] / 1000.0, at_s[:-1]]
    lengths = np.diff(np.r_[0.0, marks]) / 1000
    return [
        (round(float(km), 2), float(s))
        for km, s in zip(lengths, at_s - starts_s, strict=True)
        if km > 0.01
    ]


def daily_totals(days: I64, sources: I64, values: F64) -> dict[int, float]:
    """A day's total: the largest of its sources' sums (a phone and a watch counting the
    same steps are not added up).

    >>> daily_totals(np.array([0, 0, 0, 1]), np.array([0, 1, 1, 0]), np.array([5.0, 3, 4, 2]))
    {0: 7.0, 1: 2.0}
    """
    if len(days) == 0:
        return {}
    out: dict[int, float] = {}
    pairs = np.stack([days, sources], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=values)
    for (day, _source), total in zip(unique.tolist(), sums.tolist(), strict=True):
        out[day] = max(out.get(day, 0.0), float(total))
    return out


def duration_text(minutes: float) -> str:
    """A workout's duration as h:mm:ss (or m:ss under an hour).

    >>> duration_text(72.0), duration_text(37.25), duration_text(0.5)
    ('1:12:00', '37:15', '0:30')
    """
    seconds = round(minutes * 60)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def pace_text(min_per_km: float) -> str:
    """A pace as m:ss per kilometre.

    >>> pace_text(5.55), pace_text(4.999)
    ('5:33 /km', '5:00 /km')
    """
    seconds = round(min_per_km * 60)
    return f"{seconds // 60}:{seconds % 60:02d} /km"
