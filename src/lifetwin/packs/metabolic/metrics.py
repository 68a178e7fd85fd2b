"""The vocabulary entries of the metabolic pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import (
    CHOLESTEROL_MOLAR_MASS_G_MOL,
    GLUCOSE_MOLAR_MASS_G_MOL,
    HK,
    Kind,
    Metric,
)

_HK = HK
_I, _T, _IV = Kind.INSTANT, Kind.SERIES, Kind.INTERVAL

METRICS: tuple[Metric, ...] = (
    Metric(
        "glucose",
        "Glucose",
        "metabolic",
        _T,
        "mg/dL",
        10,
        1_000,
        healthkit=f"{_HK}BloodGlucose",
        health_connect="BloodGlucoseRecord",
        openmhealth="omh:blood-glucose",
        loinc="2339-0",
        molar_mass_g_mol=GLUCOSE_MOLAR_MASS_G_MOL,
        loinc_aliases=("2345-7", "15074-8", "41653-7", "14743-9"),
    ),
    Metric("hba1c", "Hemoglobin A1c", "metabolic", _I, "percent", 2, 20, loinc="4548-4"),
    Metric(
        "insulin_delivered",
        "Insulin delivered",
        "metabolic",
        _IV,
        "U",
        0,
        300,
        healthkit=f"{_HK}InsulinDelivery",
        loinc_aliases=("17856-6",),
    ),
    Metric(
        "carbohydrates",
        "Carbohydrates eaten",
        "nutrition",
        _IV,
        "g",
        0,
        1_500,
        healthkit=f"{_HK}DietaryCarbohydrates",
        health_connect="NutritionRecord",
        loinc="9059-7",
    ),
    Metric("ketones", "Blood ketones", "metabolic", _I, "mmol/L", 0, 30, loinc="53060-9"),
    Metric("insulin_on_board", "Insulin on board", "metabolic", _I, "U", 0, 100),
    Metric("carbs_on_board", "Carbohydrates on board", "metabolic", _I, "g", 0, 1_000),
    Metric(
        "total_cholesterol",
        "Total cholesterol",
        "metabolic",
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
        "metabolic",
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
        "metabolic",
        _I,
        "mL/min",
        1,
        250,
        loinc="62238-1",  # CKD-EPI
        loinc_aliases=(
            "98979-8",  # CKD-EPI 2021 (race-free)
            "33914-3",  # MDRD
            "48642-3",  # MDRD, non-Black
            "48643-1",  # MDRD, Black
            "50044-7",  # MDRD, female
            "88293-6",  # CKD-EPI, Black
            "88294-4",  # CKD-EPI, non-Black
        ),
    ),
    Metric(
        "dietary_energy",
        "Energy eaten",
        "nutrition",
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
        "nutrition",
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
        "nutrition",
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
        "nutrition",
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
        "nutrition",
        _IV,
        "mg",
        0,
        3_000,
        healthkit=f"{_HK}DietaryCaffeine",
    ),
    Metric(
        "alcoholic_drinks",
        "Alcoholic drinks",
        "nutrition",
        _IV,
        "count",
        0,
        50,
        healthkit=f"{_HK}NumberOfAlcoholicBeverages",
    ),
)
