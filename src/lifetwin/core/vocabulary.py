"""The metric vocabulary: one place that names every measurement LifeTwin knows.

Each metric has a code, a canonical unit, a plausible range (values outside it
are quarantined, not stored as good data), a kind, and its names in HealthKit,
Health Connect, Open mHealth and LOINC where those exist.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum

from lifetwin.core.errors import UnknownMetricError


class Kind(StrEnum):
    """How a metric relates to time."""

    INSTANT = "instant"  # a value at one moment (a blood pressure reading)
    INTERVAL = "interval"  # a value over a span (steps in 10 minutes, a sleep stage)
    SERIES = "series"  # a dense stream sampled regularly (minute heart rate, CGM)


class ValueType(StrEnum):
    NUMBER = "number"
    CATEGORY = "category"
    TEXT = "text"


class Domain(StrEnum):
    VITALS = "vitals"
    ACTIVITY = "activity"
    SLEEP = "sleep"
    BODY = "body"
    METABOLIC = "metabolic"
    NUTRITION = "nutrition"
    MOOD = "mood"
    ENVIRONMENT = "environment"
    FINANCE = "finance"
    MEDIA = "media"
    LEARNING = "learning"


@dataclass(frozen=True)
class Metric:
    """One measurable thing, in one canonical unit."""

    code: str
    name: str
    domain: Domain
    kind: Kind
    unit: str  # canonical unit, a pint expression ("" for categories and text)
    minimum: float | None = None
    maximum: float | None = None
    value_type: ValueType = ValueType.NUMBER
    categories: tuple[str, ...] = ()
    healthkit: str | None = None
    health_connect: str | None = None
    openmhealth: str | None = None
    loinc: str | None = None
    molar_mass_g_mol: float | None = None  # lets mass and molar concentrations convert
    aliases: tuple[str, ...] = field(default=())

    @property
    def is_numeric(self) -> bool:
        return self.value_type is ValueType.NUMBER


_HK = "HKQuantityTypeIdentifier"
_HKC = "HKCategoryTypeIdentifier"
GLUCOSE_MOLAR_MASS_G_MOL = 180.156
CHOLESTEROL_MOLAR_MASS_G_MOL = 386.65  # lab mmol/L <-> mg/dL factor 38.67

_N = ValueType.NUMBER
_V, _A, _S, _B, _M = Domain.VITALS, Domain.ACTIVITY, Domain.SLEEP, Domain.BODY, Domain.METABOLIC
_I, _T, _IV = Kind.INSTANT, Kind.SERIES, Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    # vitals
    Metric(
        "heart_rate",
        "Heart rate",
        _V,
        _T,
        "bpm",
        20,
        250,
        healthkit=f"{_HK}HeartRate",
        health_connect="HeartRateRecord",
        openmhealth="omh:heart-rate",
        loinc="8867-4",
    ),
    Metric(
        "resting_heart_rate",
        "Resting heart rate",
        _V,
        _I,
        "bpm",
        25,
        150,
        healthkit=f"{_HK}RestingHeartRate",
        health_connect="RestingHeartRateRecord",
        loinc="40443-4",
    ),
    Metric(
        "walking_heart_rate",
        "Walking heart rate average",
        _V,
        _I,
        "bpm",
        30,
        220,
        healthkit=f"{_HK}WalkingHeartRateAverage",
    ),
    Metric(
        "hrv_sdnn",
        "Heart rate variability (SDNN)",
        _V,
        _I,
        "ms",
        1,
        500,
        healthkit=f"{_HK}HeartRateVariabilitySDNN",
        loinc="80404-7",
    ),
    Metric(
        "hrv_rmssd",
        "Heart rate variability (RMSSD)",
        _V,
        _I,
        "ms",
        1,
        500,
        health_connect="HeartRateVariabilityRmssdRecord",
    ),
    Metric(
        "blood_pressure_systolic",
        "Systolic blood pressure",
        _V,
        _I,
        "mmHg",
        50,
        300,
        healthkit=f"{_HK}BloodPressureSystolic",
        health_connect="BloodPressureRecord",
        openmhealth="omh:blood-pressure",
        loinc="8480-6",
    ),
    Metric(
        "blood_pressure_diastolic",
        "Diastolic blood pressure",
        _V,
        _I,
        "mmHg",
        20,
        200,
        healthkit=f"{_HK}BloodPressureDiastolic",
        health_connect="BloodPressureRecord",
        openmhealth="omh:blood-pressure",
        loinc="8462-4",
    ),
    Metric(
        "respiratory_rate",
        "Respiratory rate",
        _V,
        _I,
        "breaths_per_minute",
        3,
        80,
        healthkit=f"{_HK}RespiratoryRate",
        health_connect="RespiratoryRateRecord",
        openmhealth="omh:respiratory-rate",
        loinc="9279-1",
    ),
    Metric(
        "oxygen_saturation",
        "Oxygen saturation (SpO2)",
        _V,
        _I,
        "percent",
        50,
        100,
        healthkit=f"{_HK}OxygenSaturation",
        health_connect="OxygenSaturationRecord",
        openmhealth="omh:oxygen-saturation",
        loinc="59408-5",
    ),
    Metric(
        "body_temperature",
        "Body temperature",
        _V,
        _I,
        "degC",
        30,
        45,
        healthkit=f"{_HK}BodyTemperature",
        health_connect="BodyTemperatureRecord",
        openmhealth="omh:body-temperature",
        loinc="8310-5",
    ),
    Metric(
        "vo2max",
        "VO2 max",
        _V,
        _I,
        "mL/kg/min",
        5,
        100,
        healthkit=f"{_HK}VO2Max",
        health_connect="Vo2MaxRecord",
        loinc="60842-2",
    ),
    # activity
    Metric(
        "steps",
        "Steps",
        _A,
        _IV,
        "count",
        0,
        100_000,
        healthkit=f"{_HK}StepCount",
        health_connect="StepsRecord",
        openmhealth="omh:step-count",
        loinc="55423-8",
    ),
    Metric(
        "distance",
        "Walking and running distance",
        _A,
        _IV,
        "m",
        0,
        500_000,
        healthkit=f"{_HK}DistanceWalkingRunning",
        health_connect="DistanceRecord",
        loinc="41953-4",
    ),
    Metric(
        "active_energy",
        "Active energy burned",
        _A,
        _IV,
        "kcal",
        0,
        20_000,
        healthkit=f"{_HK}ActiveEnergyBurned",
        health_connect="ActiveCaloriesBurnedRecord",
        openmhealth="omh:calories-burned",
        loinc="41981-2",
    ),
    Metric(
        "basal_energy",
        "Resting energy burned",
        _A,
        _IV,
        "kcal",
        0,
        10_000,
        healthkit=f"{_HK}BasalEnergyBurned",
        health_connect="BasalMetabolicRateRecord",
    ),
    Metric(
        "flights_climbed",
        "Flights climbed",
        _A,
        _IV,
        "count",
        0,
        1_000,
        healthkit=f"{_HK}FlightsClimbed",
        health_connect="FloorsClimbedRecord",
    ),
    Metric(
        "exercise_minutes",
        "Exercise time",
        _A,
        _IV,
        "min",
        0,
        1_440,
        healthkit=f"{_HK}AppleExerciseTime",
        health_connect="ExerciseSessionRecord",
        openmhealth="omh:minutes-moderate-activity",
    ),
    Metric(
        "cycling_power",
        "Cycling power",
        _A,
        _T,
        "W",
        0,
        3_000,
        healthkit=f"{_HK}CyclingPower",
        health_connect="PowerRecord",
    ),
    Metric(
        "speed",
        "Speed",
        _A,
        _T,
        "m/s",
        0,
        100,
        healthkit=f"{_HK}RunningSpeed",
        health_connect="SpeedRecord",
        openmhealth="omh:speed",
    ),
    Metric(
        "distance_cycling",
        "Cycling distance",
        _A,
        _IV,
        "m",
        0,
        1_000_000,
        healthkit=f"{_HK}DistanceCycling",
    ),
    Metric(
        "walking_speed",
        "Walking speed",
        _A,
        _I,
        "m/s",
        0,
        5,
        healthkit=f"{_HK}WalkingSpeed",
    ),
    Metric(
        "stand_minutes",
        "Stand time",
        _A,
        _IV,
        "min",
        0,
        1_440,
        healthkit=f"{_HK}AppleStandTime",
    ),
    Metric("stand_hours", "Hours with standing", _A, _IV, "count", 0, 24),
    Metric(
        "headphone_audio",
        "Headphone sound level",
        Domain.ENVIRONMENT,
        _IV,
        "dB",
        0,
        150,
        healthkit=f"{_HK}HeadphoneAudioExposure",
    ),
    # sleep
    Metric(
        "sleep_stage",
        "Sleep stage",
        _S,
        _IV,
        "",
        value_type=ValueType.CATEGORY,
        categories=("in_bed", "asleep", "awake", "light", "deep", "rem"),
        healthkit=f"{_HKC}SleepAnalysis",
        health_connect="SleepSessionRecord",
        openmhealth="omh:sleep-episode",
    ),
    Metric("readiness_score", "Readiness score (0-100)", _S, _I, "dimensionless", 0, 100),
    Metric(
        "skin_temperature_deviation",
        "Skin temperature deviation from baseline",
        _V,
        _I,
        "delta_degC",
        -10,
        10,
    ),
    Metric(
        "sleep_duration",
        "Sleep duration",
        _S,
        _IV,
        "min",
        0,
        1_440,
        openmhealth="omh:sleep-duration",
        loinc="93832-4",
    ),
    Metric(
        "mindful_minutes",
        "Mindful minutes",
        _S,
        _IV,
        "min",
        0,
        1_440,
        healthkit=f"{_HKC}MindfulSession",
        health_connect="MindfulnessSessionRecord",
    ),
    # body
    Metric(
        "body_mass",
        "Body weight",
        _B,
        _I,
        "kg",
        1,
        500,
        healthkit=f"{_HK}BodyMass",
        health_connect="WeightRecord",
        openmhealth="omh:body-weight",
        loinc="29463-7",
    ),
    Metric(
        "height",
        "Height",
        _B,
        _I,
        "cm",
        30,
        272,
        healthkit=f"{_HK}Height",
        health_connect="HeightRecord",
        openmhealth="omh:body-height",
        loinc="8302-2",
    ),
    Metric(
        "bmi",
        "Body mass index",
        _B,
        _I,
        "kg/m**2",
        8,
        100,
        healthkit=f"{_HK}BodyMassIndex",
        openmhealth="omh:body-mass-index",
        loinc="39156-5",
    ),
    Metric(
        "body_fat",
        "Body fat percentage",
        _B,
        _I,
        "percent",
        1,
        75,
        healthkit=f"{_HK}BodyFatPercentage",
        health_connect="BodyFatRecord",
        openmhealth="omh:body-fat-percentage",
        loinc="41982-0",
    ),
    Metric(
        "waist_circumference",
        "Waist circumference",
        _B,
        _I,
        "cm",
        30,
        250,
        healthkit=f"{_HK}WaistCircumference",
        loinc="8280-0",
    ),
    # metabolic
    Metric(
        "glucose",
        "Glucose",
        _M,
        _T,
        "mg/dL",
        10,
        1_000,
        healthkit=f"{_HK}BloodGlucose",
        health_connect="BloodGlucoseRecord",
        openmhealth="omh:blood-glucose",
        loinc="2339-0",
        molar_mass_g_mol=GLUCOSE_MOLAR_MASS_G_MOL,
    ),
    Metric("hba1c", "Hemoglobin A1c", _M, _I, "percent", 2, 20, loinc="4548-4"),
    Metric(
        "insulin_delivered",
        "Insulin delivered",
        _M,
        _IV,
        "U",
        0,
        300,
        healthkit=f"{_HK}InsulinDelivery",
    ),
    Metric(
        "carbohydrates",
        "Carbohydrates eaten",
        Domain.NUTRITION,
        _IV,
        "g",
        0,
        1_500,
        healthkit=f"{_HK}DietaryCarbohydrates",
        health_connect="NutritionRecord",
        loinc="9059-7",
    ),
    Metric("ketones", "Blood ketones", _M, _I, "mmol/L", 0, 30, loinc="53060-9"),
    Metric("insulin_on_board", "Insulin on board", _M, _I, "U", 0, 100),
    Metric("carbs_on_board", "Carbohydrates on board", _M, _I, "g", 0, 1_000),
    Metric(
        "total_cholesterol",
        "Total cholesterol",
        _M,
        _I,
        "mg/dL",
        50,
        1_000,
        loinc="2093-3",
        molar_mass_g_mol=CHOLESTEROL_MOLAR_MASS_G_MOL,
    ),
    Metric(
        "hdl_cholesterol",
        "HDL cholesterol",
        _M,
        _I,
        "mg/dL",
        5,
        200,
        loinc="2085-9",
        molar_mass_g_mol=CHOLESTEROL_MOLAR_MASS_G_MOL,
    ),
    Metric(
        "egfr",
        "Estimated glomerular filtration rate (per 1.73 m²)",
        _M,
        _I,
        "mL/min",
        1,
        250,
        loinc="62238-1",  # CKD-EPI; other eGFR codes in _EXTRA_LOINC
    ),
    Metric(
        "smoking_status",
        "Tobacco smoking status",
        _V,
        _I,
        "",
        value_type=ValueType.CATEGORY,
        categories=(
            "current_every_day",
            "current_some_day",
            "current",
            "former",
            "never",
            "unknown",
        ),
        loinc="72166-2",
    ),
    # nutrition
    Metric(
        "dietary_energy",
        "Energy eaten",
        Domain.NUTRITION,
        _IV,
        "kcal",
        0,
        20_000,
        healthkit=f"{_HK}DietaryEnergyConsumed",
        health_connect="NutritionRecord",
        loinc="9052-2",
    ),
    Metric(
        "protein",
        "Protein eaten",
        Domain.NUTRITION,
        _IV,
        "g",
        0,
        1_000,
        healthkit=f"{_HK}DietaryProtein",
        health_connect="NutritionRecord",
    ),
    Metric(
        "fat_total",
        "Fat eaten",
        Domain.NUTRITION,
        _IV,
        "g",
        0,
        1_000,
        healthkit=f"{_HK}DietaryFatTotal",
        health_connect="NutritionRecord",
    ),
    Metric(
        "water",
        "Water drunk",
        Domain.NUTRITION,
        _IV,
        "mL",
        0,
        20_000,
        healthkit=f"{_HK}DietaryWater",
        health_connect="HydrationRecord",
    ),
    Metric(
        "caffeine",
        "Caffeine",
        Domain.NUTRITION,
        _IV,
        "mg",
        0,
        3_000,
        healthkit=f"{_HK}DietaryCaffeine",
    ),
    Metric(
        "alcoholic_drinks",
        "Alcoholic drinks",
        Domain.NUTRITION,
        _IV,
        "count",
        0,
        50,
        healthkit=f"{_HK}NumberOfAlcoholicBeverages",
    ),
    # mood and mental health
    Metric(
        "mood_valence",
        "Mood (very unpleasant -1 to very pleasant +1)",
        Domain.MOOD,
        _I,
        "dimensionless",
        -1,
        1,
        healthkit="HKStateOfMind",
    ),
    Metric("stress_level", "Stress level (0-100)", Domain.MOOD, _I, "dimensionless", 0, 100),
    Metric("energy_level", "Energy level (1-5)", Domain.MOOD, _I, "dimensionless", 1, 5),
    Metric(
        "phq9_score",
        "PHQ-9 depression score",
        Domain.MOOD,
        _I,
        "dimensionless",
        0,
        27,
        loinc="44261-6",
    ),
    Metric(
        "gad7_score",
        "GAD-7 anxiety score",
        Domain.MOOD,
        _I,
        "dimensionless",
        0,
        21,
        loinc="70274-6",
    ),
    Metric("journal_note", "Journal note", Domain.MOOD, _I, "", value_type=ValueType.TEXT),
    # environment
    Metric("ambient_temperature", "Outdoor temperature", Domain.ENVIRONMENT, _T, "degC", -90, 60),
    Metric("relative_humidity", "Relative humidity", Domain.ENVIRONMENT, _T, "percent", 0, 100),
    Metric(
        "pm2_5",
        "Fine particulate matter (PM2.5)",
        Domain.ENVIRONMENT,
        _T,
        "microgram/m**3",
        0,
        2_000,
    ),
    Metric("indoor_temperature", "Indoor temperature", Domain.ENVIRONMENT, _T, "degC", -30, 60),
    Metric("co2", "Indoor CO2", Domain.ENVIRONMENT, _T, "ppm", 150, 10_000),
    Metric(
        "noise_exposure",
        "Environmental sound level",
        Domain.ENVIRONMENT,
        _IV,
        "dB",
        0,
        150,
        healthkit=f"{_HK}EnvironmentalAudioExposure",
    ),
    Metric(
        "uv_index",
        "UV index",
        Domain.ENVIRONMENT,
        _T,
        "dimensionless",
        0,
        20,
        healthkit=f"{_HK}UVExposure",
    ),
    # finance (amounts keep their own currency: no silent exchange-rate conversion)
    Metric(
        "transaction_amount",
        "Transaction amount (negative is money out)",
        Domain.FINANCE,
        _I,
        "currency",
        -1e9,
        1e9,
    ),
    Metric("account_balance", "Account balance", Domain.FINANCE, _I, "currency", -1e10, 1e10),
    # media
    Metric("screen_time", "Screen time", Domain.MEDIA, _IV, "min", 0, 1_440),
    Metric("media_minutes", "Minutes watched or listened", Domain.MEDIA, _IV, "min", 0, 1_440),
    # learning
    Metric("study_minutes", "Study time", Domain.LEARNING, _IV, "min", 0, 1_440),
    Metric("lesson_score", "Lesson score (0-1)", Domain.LEARNING, _I, "dimensionless", 0, 1),
)

_BY_CODE: dict[str, Metric] = {m.code: m for m in METRICS}
# LOINC codes that mean the same measurement as a metric's own code.
_EXTRA_LOINC = {
    "2345-7": "glucose",  # serum or plasma
    "15074-8": "glucose",  # blood
    "41653-7": "glucose",  # capillary blood, by glucometer
    "14743-9": "glucose",  # capillary blood, by glucometer (older)
    "3141-9": "body_mass",  # measured body weight
    "8302-2": "height",
    "2708-6": "oxygen_saturation",  # arterial blood
    "17856-6": "hba1c",  # by HPLC
    "8328-7": "body_temperature",  # axillary
    "8331-1": "body_temperature",  # oral
    "98979-8": "egfr",  # CKD-EPI 2021 (race-free)
    "33914-3": "egfr",  # MDRD
    "48642-3": "egfr",  # MDRD, non-Black
    "48643-1": "egfr",  # MDRD, Black
    "50044-7": "egfr",  # MDRD, female
    "88293-6": "egfr",  # CKD-EPI, Black
    "88294-4": "egfr",  # CKD-EPI, non-Black
}
BY_LOINC: dict[str, Metric] = {m.loinc: m for m in METRICS if m.loinc}
BY_LOINC.update({code: _BY_CODE[name] for code, name in _EXTRA_LOINC.items()})
_BY_EXTERNAL: dict[str, Metric] = {}
for _m in METRICS:
    for _name in (_m.healthkit, _m.openmhealth, *_m.aliases):
        if _name and _name not in _BY_EXTERNAL:
            _BY_EXTERNAL[_name] = _m


def metric(code: str) -> Metric:
    """Return the metric with this code, or say which codes come closest.

    >>> metric("heart_rate").unit
    'bpm'
    """
    found = _BY_CODE.get(code) or _BY_EXTERNAL.get(code)
    if found is not None:
        return found
    close = difflib.get_close_matches(code, list(_BY_CODE), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `lifetwin metrics` lists them."
    raise UnknownMetricError(f"'{code}' is not a known metric{hint}")


def metric_codes() -> list[str]:
    return [m.code for m in METRICS]
