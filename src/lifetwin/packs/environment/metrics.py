"""The vocabulary entries of the environment pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import HK, Kind, Metric

_HK = HK
_T, _IV = Kind.SERIES, Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    Metric(
        "headphone_audio",
        "Headphone sound level",
        "environment",
        _IV,
        "dB",
        0,
        150,
        healthkit=f"{_HK}HeadphoneAudioExposure",
    ),
    Metric("ambient_temperature", "Outdoor temperature", "environment", _T, "degC", -90, 60),
    Metric("relative_humidity", "Relative humidity", "environment", _T, "percent", 0, 100),
    Metric(
        "pm2_5",
        "Fine particulate matter (PM2.5)",
        "environment",
        _T,
        "microgram/m**3",
        0,
        2_000,
    ),
    Metric("indoor_temperature", "Indoor temperature", "environment", _T, "degC", -30, 60),
    Metric("co2", "Indoor CO2", "environment", _T, "ppm", 150, 10_000),
    Metric(
        "noise_exposure",
        "Environmental sound level",
        "environment",
        _IV,
        "dB",
        0,
        150,
        healthkit=f"{_HK}EnvironmentalAudioExposure",
    ),
    Metric(
        "uv_index",
        "UV index",
        "environment",
        _T,
        "dimensionless",
        0,
        20,
        healthkit=f"{_HK}UVExposure",
    ),
)
