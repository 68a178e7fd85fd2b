"""The CGM report on the real Clarity sample, against a plain-Python reading of it and
against iglu_python (a Python port of the R package iglu, an independent implementation
of the consensus metrics)."""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifetwin.capabilities.cgm_report import cgm_report, mage, summarize, time_in_ranges
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Store

CLARITY = (
    Path(__file__).parent
    / "fixtures"
    / "realdata"
    / "cgm"
    / ("cgmquantify_dexcom_clarity_test_file.csv")
)


def _egv_rows() -> list[dict[str, str]]:
    """The EGV rows, read with the csv module alone (independent of LifeTwin's reader)."""
    with CLARITY.open(encoding="utf-8-sig") as handle:
        return [r for r in csv.DictReader(handle) if r["Event Type"] == "EGV"]


def _egvs() -> list[float]:
    return [float(r["Glucose Value (mg/dL)"]) for r in _egv_rows()]


def test_the_report_matches_an_independent_calculation(store: Store) -> None:
    person = store.add_person("Joe")
    import_file(store, person, CLARITY, timezone="America/New_York")
    report = cgm_report(store.vault(person), Purpose.SELF_ACCESS)
    values = _egvs()
    assert report.readings == len(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values)
    assert report.mean_mg_dl == pytest.approx(mean, abs=0.05)
    assert report.sd_mg_dl == pytest.approx(sd, abs=0.05)
    assert report.cv_pct == pytest.approx(100 * sd / mean, abs=0.05)
    assert report.gmi_pct == pytest.approx(3.31 + 0.02392 * mean, abs=0.005)
    in_range = sum(70 <= v <= 180 for v in values) / len(values) * 100
    assert report.ranges_pct["in_range"] == pytest.approx(in_range, abs=0.005)
    assert sum(report.ranges_pct.values()) == pytest.approx(100, abs=0.05)

    def f(v: float) -> float:
        return 1.509 * (math.log(v) ** 1.084 - 5.381)

    lbgi = statistics.fmean(10 * f(v) ** 2 if f(v) < 0 else 0 for v in values)
    hbgi = statistics.fmean(10 * f(v) ** 2 if f(v) > 0 else 0 for v in values)
    assert report.lbgi == pytest.approx(lbgi, abs=0.005)
    assert report.hbgi == pytest.approx(hbgi, abs=0.005)
    assert report.data_captured_pct > 90
    assert set(report.agp) == set(range(24))
    for hour in report.agp.values():
        assert hour["p5"] <= hour["p25"] <= hour["p50"] <= hour["p75"] <= hour["p95"]


def test_the_report_matches_iglu(store: Store) -> None:
    """Every consensus metric but MAGE, and the hourly profile, as iglu computes them."""
    import iglu_python as iglu  # type: ignore[import-untyped]  # a dev dependency
    import pandas as pd

    person = store.add_person("Joe")
    import_file(store, person, CLARITY, timezone="America/New_York")
    report = cgm_report(store.vault(person), Purpose.SELF_ACCESS)
    rows = _egv_rows()
    data = pd.DataFrame(
        {
            "id": "joe",
            "time": pd.to_datetime([r["Timestamp (YYYY-MM-DDThh:mm:ss)"] for r in rows]),
            "gl": [float(r["Glucose Value (mg/dL)"]) for r in rows],
        }
    )

    def one(frame: Any, column: str) -> float:
        return float(frame[column].iloc[0])

    assert report.mean_mg_dl == pytest.approx(one(iglu.mean_glu(data), "mean"), abs=0.05)
    assert report.sd_mg_dl == pytest.approx(one(iglu.sd_glu(data), "SD"), abs=0.05)
    assert report.cv_pct == pytest.approx(one(iglu.cv_glu(data), "CV"), abs=0.05)
    assert report.gmi_pct == pytest.approx(one(iglu.gmi(data), "GMI"), abs=0.005)
    assert report.lbgi == pytest.approx(one(iglu.lbgi(data), "LBGI"), abs=0.005)
    assert report.hbgi == pytest.approx(one(iglu.hbgi(data), "HBGI"), abs=0.005)
    captured = one(iglu.active_percent(data), "active_percent")
    assert report.data_captured_pct == pytest.approx(captured, abs=0.05)
    below = iglu.below_percent(data, targets_below=[54, 70])
    above = iglu.above_percent(data, targets_above=[180, 250])
    inside = iglu.in_range_percent(data, target_ranges=[[70, 180]])
    expected = {
        "very_low": one(below, "below_54"),
        "low": one(below, "below_70") - one(below, "below_54"),
        "in_range": one(inside, "in_range_70_180"),
        "high": one(above, "above_180") - one(above, "above_250"),
        "very_high": one(above, "above_250"),
    }
    assert report.ranges_pct == pytest.approx(expected, abs=0.006)
    for hour, profile in report.agp.items():
        cuts = iglu.quantile_glu(data[data.time.dt.hour == hour], quantiles=[5, 25, 50, 75, 95])
        for p in (5, 25, 50, 75, 95):
            assert profile[f"p{p}"] == pytest.approx(one(cuts, str(p)), abs=0.051), (hour, p)


def test_mage_matches_iglus_moving_average_mage_on_the_real_sample(store: Store) -> None:
    """Fernandes et al. 2022 (iglu's default) within 2 % on the real Clarity sample."""
    import iglu_python as iglu  # a dev dependency
    import pandas as pd

    person = store.add_person("Joe")
    import_file(store, person, CLARITY, timezone="America/New_York")
    report = cgm_report(store.vault(person), Purpose.SELF_ACCESS)
    rows = _egv_rows()
    data = pd.DataFrame(
        {
            "id": "joe",
            "time": pd.to_datetime([r["Timestamp (YYYY-MM-DDThh:mm:ss)"] for r in rows]),
            "gl": [float(r["Glucose Value (mg/dL)"]) for r in rows],
        }
    )
    expected = float(iglu.mage(data)["MAGE"].iloc[0])
    assert expected == pytest.approx(69.1, abs=0.05)
    assert report.mage_mg_dl == pytest.approx(expected, rel=0.02)
    assert report.mage_mg_dl == pytest.approx(expected, abs=0.05)  # in fact to the rounding


def test_a_small_dip_does_not_split_a_large_excursion() -> None:
    rise = np.linspace(80, 200, 25)
    rise[12] -= 2  # one 2 mg/dL wiggle half-way up
    trace = np.tile(np.concatenate([rise, np.linspace(200, 80, 25)[1:-1]]), 10)
    assert mage(trace) == pytest.approx(120, abs=1)  # the turning-point MAGE gave ~81
    assert mage(np.full(50, 120.0)) == 0.0
    assert mage(np.array([120.0, 130])) is None


def test_mage_does_not_bridge_long_gaps() -> None:
    minutes = np.arange(0, 2 * 1440, 5.0)
    trace = 140 + 50 * np.sin(2 * np.pi * minutes / 360)
    whole = mage(trace, minutes)
    # the same trace with a four-hour hole: the two pieces are measured on their own
    hole = (minutes < 1000) | (minutes > 1240)
    assert mage(trace[hole], minutes[hole]) == pytest.approx(whole, rel=0.05)


def test_ranges_sum_to_100_and_boundaries_follow_the_consensus() -> None:
    # The consensus ranges are whole mg/dL (70-180, 181-250): a value is compared at a
    # CGM's resolution, so 180.4 is 180 (in range) and 180.6 is 181 (high).
    values = np.array([53.9, 54, 69.9, 70, 180.4, 180.6, 250.4, 250.6])
    assert time_in_ranges(values) == {
        "very_low": 12.5,
        "low": 25.0,
        "in_range": 25.0,
        "high": 25.0,
        "very_high": 12.5,
    }


def test_ten_mmol_per_litre_is_in_range() -> None:
    """3.9-10.0 mmol/L is the range a person reading mmol/L is told; 10.0 mmol/L is
    180.2 mg/dL once converted."""
    assert time_in_ranges(np.array([10.0 * 18.0156, 10.1 * 18.0156]))["in_range"] == 50.0


def test_an_empty_series_is_an_empty_report() -> None:
    empty = summarize(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    assert empty.readings == 0
    assert empty.mean_mg_dl is None


def test_the_cgm_command(cli: Callable[..., Any]) -> None:
    cli("init")
    cli("person", "add", "Joe")
    empty = cli("cgm", "Joe")
    assert empty.returncode == 1
    assert empty.stderr.strip() == "error: There are no CGM readings of Joe in that range."
    cli("import", str(CLARITY), "-p", "Joe", "--timezone", "America/New_York")
    shown = cli("cgm", "Joe")
    assert shown.returncode == 0, shown.stderr
    assert f"{len(_egvs()):,} readings" in shown.stdout
    assert "Time in range 70–180 mg/dL" in shown.stdout
    assert "Ambulatory glucose profile" in shown.stdout


def test_the_report_uses_one_source_and_the_latest_14_days_and_warns(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from lifetwin.store.codec import Columns

    person = store.add_person("Joe")
    import_file(store, person, CLARITY, timezone="America/New_York")
    vault = store.vault(person)
    clarity = cgm_report(vault, Purpose.SELF_ACCESS)
    (source,) = {s.source for s in vault.streams() if s.metric == "glucose"}
    # an older meter in another year, and a few recent readings from a second app
    old = datetime(2013, 3, 1, tzinfo=UTC)
    n = 4000
    z = np.zeros(n, dtype=np.int64)
    ts = int(old.timestamp() * 1000) + np.arange(n, dtype=np.int64) * 300_000
    vault.write_columns(
        "glucose", "old meter", None, "mg/dL", Columns(ts, z, np.full(n, 150.0), z, z, z, z)
    )
    assert clarity.last is not None
    recent = int((clarity.last - timedelta(hours=1)).timestamp() * 1000)
    few = recent + np.arange(10, dtype=np.int64) * 300_000
    z10 = np.zeros(10, dtype=np.int64)
    vault.write_columns(
        "glucose",
        "phone app",
        None,
        "mg/dL",
        Columns(few, z10, np.full(10, 90.0), z10, z10, z10, z10),
    )
    report = cgm_report(vault, Purpose.SELF_ACCESS)
    assert report.source == source
    assert report.readings == clarity.readings  # nothing from 2013, nothing from the app
    assert report.mean_mg_dl == clarity.mean_mg_dl
    assert report.other_sources == ["phone app"]
    assert report.days == 14.0
    assert report.period_end is not None
    assert report.period_end > report.last
    covered = [w for w in report.warnings if w.startswith("The readings cover")]
    assert covered
    assert "the consensus asks for 14 days" in covered[0]
    assert any("phone app" in w and "not mixed in" in w for w in report.warnings)
    chosen = cgm_report(vault, Purpose.SELF_ACCESS, source="old meter")
    assert chosen.readings == 0
    assert chosen.warnings[0] == "There are no readings from the source 'old meter' in this period."
    then = cgm_report(
        vault,
        Purpose.SELF_ACCESS,
        since=old,
        until=old + timedelta(days=14),
        source="old meter",
    )
    assert then.readings == n
    assert then.mean_mg_dl == 150.0
    assert not any("possible readings" in w for w in then.warnings)


def test_the_captured_share_counts_the_readings_the_period_could_hold() -> None:
    every_hour = np.arange(0, 15 * 86_400_000, 3_600_000, dtype=np.int64)
    report = summarize(
        every_hour, np.zeros(len(every_hour), np.int64), np.full(len(every_hour), 120.0)
    )
    assert report.data_captured_pct == 100.0  # hourly readings, evenly spaced, are all there
    gappy = np.concatenate([np.arange(0, 86_400_000, 300_000), [14 * 86_400_000]]).astype(np.int64)
    sparse = summarize(gappy, np.zeros(len(gappy), np.int64), np.full(len(gappy), 120.0))
    assert sparse.data_captured_pct < 70
