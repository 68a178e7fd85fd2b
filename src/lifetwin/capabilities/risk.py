"""Validated risk scores, computed from what the twin holds.

* ACC/AHA pooled cohort equations (Goff et al. 2013), 10-year ASCVD risk, ages 40-79.
* Framingham general cardiovascular risk (D'Agostino et al. 2008), 10-year CVD, ages 30-74.
* FINDRISC (Lindström & Tuomilehto 2003), 10-year type 2 diabetes risk, adults.
* ADA type 2 diabetes risk test (Bang et al. 2009), adults.

Each score says which inputs were measured (and when), self-reported (the person's
profile) or missing, and refuses — with the reason — outside its validated age range
or when a required input is missing. Decision support, not a diagnosis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

# Goff 2013, Table A: (coefficients, mean of the linear predictor, 10-year baseline survival)
_PCE: dict[str, tuple[dict[str, float], float, float]] = {
    "white_female": (
        {
            "ln_age": -29.799,
            "ln_age_sq": 4.884,
            "ln_tc": 13.540,
            "ln_age_ln_tc": -3.114,
            "ln_hdl": -13.578,
            "ln_age_ln_hdl": 3.149,
            "ln_sbp_treated": 2.019,
            "ln_sbp_untreated": 1.957,
            "smoker": 7.574,
            "ln_age_smoker": -1.665,
            "diabetes": 0.661,
        },
        -29.18,
        0.9665,
    ),
    "black_female": (
        {
            "ln_age": 17.114,
            "ln_tc": 0.940,
            "ln_hdl": -18.920,
            "ln_age_ln_hdl": 4.475,
            "ln_sbp_treated": 29.291,
            "ln_age_ln_sbp_treated": -6.432,
            "ln_sbp_untreated": 27.820,
            "ln_age_ln_sbp_untreated": -6.087,
            "smoker": 0.691,
            "diabetes": 0.874,
        },
        86.61,
        0.9533,
    ),
    "white_male": (
        {
            "ln_age": 12.344,
            "ln_tc": 11.853,
            "ln_age_ln_tc": -2.664,
            "ln_hdl": -7.990,
            "ln_age_ln_hdl": 1.769,
            "ln_sbp_treated": 1.797,
            "ln_sbp_untreated": 1.764,
            "smoker": 7.837,
            "ln_age_smoker": -1.795,
            "diabetes": 0.658,
        },
        61.18,
        0.9144,
    ),
    "black_male": (
        {
            "ln_age": 2.469,
            "ln_tc": 0.302,
            "ln_hdl": -0.307,
            "ln_sbp_treated": 1.916,
            "ln_sbp_untreated": 1.809,
            "smoker": 0.549,
            "diabetes": 0.645,
        },
        19.54,
        0.8954,
    ),
}
# D'Agostino 2008: (ln age, ln TC, ln HDL, ln SBP untreated, ln SBP treated, smoker, diabetes)
_FRAMINGHAM = {
    "male": ((3.06117, 1.12370, -0.93263, 1.93303, 1.99881, 0.65451, 0.57367), 23.9802, 0.88936),
    "female": ((2.32888, 1.20904, -0.70833, 2.76157, 2.82263, 0.52873, 0.69154), 26.1931, 0.95012),
}


@dataclass
class Inputs:
    """Risk-factor values with where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # measured <date> / self-reported

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class RiskResult:
    name: str
    reference: str
    value: float | None  # percent, or points for the point scores
    unit: str
    category: str | None
    refused: str | None  # why no result, when there is none
    inputs: dict[str, str]  # input -> "value (origin)" or "missing"


def pooled_cohort_risk(
    age: float,
    sex: str,
    race: str,
    total_chol: float,
    hdl: float,
    sbp: float,
    bp_treated: bool,
    smoker: bool,
    diabetes: bool,
) -> float:
    """10-year ASCVD risk in percent (Goff 2013). ``race``: "black" or anything else.

    The guideline's example (55-year-old white man, TC 213, HDL 50, SBP 120 untreated,
    non-smoker, no diabetes) prints 5.3 %; exact arithmetic with its coefficients gives:

    >>> round(pooled_cohort_risk(55, "male", "white", 213, 50, 120, False, False, False), 2)
    5.38
    """
    group = f"{'black' if race == 'black' else 'white'}_{'male' if sex == 'male' else 'female'}"
    beta, mean, survival = _PCE[group]
    la, ltc, lhdl, lsbp = math.log(age), math.log(total_chol), math.log(hdl), math.log(sbp)
    terms = {
        "ln_age": la,
        "ln_age_sq": la * la,
        "ln_tc": ltc,
        "ln_age_ln_tc": la * ltc,
        "ln_hdl": lhdl,
        "ln_age_ln_hdl": la * lhdl,
        "ln_sbp_treated": lsbp if bp_treated else 0.0,
        "ln_age_ln_sbp_treated": la * lsbp if bp_treated else 0.0,
        "ln_sbp_untreated": 0.0 if bp_treated else lsbp,
        "ln_age_ln_sbp_untreated": 0.0 if bp_treated else la * lsbp,
        "smoker": float(smoker),
        "ln_age_smoker": la * float(smoker),
        "diabetes": float(diabetes),
    }
    linear = sum(beta.get(name, 0.0) * value for name, value in terms.items())
    return float(100 * (1 - survival ** math.exp(linear - mean)))


def framingham_risk(
    age: float,
    sex: str,
    total_chol: float,
    hdl: float,
    sbp: float,
    bp_treated: bool,
    smoker: bool,
    diabetes: bool,
) -> float:
    """10-year general CVD risk in percent (D'Agostino 2008)."""
    beta, mean, survival = _FRAMINGHAM["male" if sex == "male" else "female"]
    linear = (
        beta[0] * math.log(age)
        + beta[1] * math.log(total_chol)
        + beta[2] * math.log(hdl)
        + (beta[4] if bp_treated else beta[3]) * math.log(sbp)
        + beta[5] * smoker
        + beta[6] * diabetes
    )
    return float(100 * (1 - survival ** math.exp(linear - mean)))


def findrisc_points(
    age: float,
    bmi: float,
    waist_cm: float,
    sex: str,
    active: bool,
    daily_vegetables: bool,
    bp_treated: bool,
    high_glucose_history: bool,
    family_history: str,
) -> int:
    """FINDRISC total, 0-26. ``family_history``: none, second_degree or first_degree.

    >>> findrisc_points(50, 27, 95, "male", True, True, False, False, "none")
    6
    """
    points = 0 if age < 45 else 2 if age < 55 else 3 if age <= 64 else 4
    points += 0 if bmi < 25 else 1 if bmi <= 30 else 3
    low, high = (94, 102) if sex == "male" else (80, 88)
    points += 0 if waist_cm < low else 3 if waist_cm <= high else 4
    points += 0 if active else 2
    points += 0 if daily_vegetables else 1
    points += 2 if bp_treated else 0
    points += 5 if high_glucose_history else 0
    points += {"none": 0, "second_degree": 3, "first_degree": 5}[family_history]
    return points


def findrisc_category(points: int) -> str:
    if points < 7:
        return "low (about 1 in 100 will develop type 2 diabetes in 10 years)"
    if points <= 11:
        return "slightly elevated (about 1 in 25)"
    if points <= 14:
        return "moderate (about 1 in 6)"
    if points <= 20:
        return "high (about 1 in 3)"
    return "very high (about 1 in 2)"


def ada_points(
    age: float,
    sex: str,
    gestational_diabetes: bool,
    family_history: bool,
    hypertension: bool,
    active: bool,
    bmi: float,
) -> int:
    """ADA type 2 diabetes risk test total, 0-10 (5 or more: high risk).

    >>> ada_points(45, "female", False, True, False, True, 31)
    4
    """
    points = 0 if age < 40 else 1 if age < 50 else 2 if age < 60 else 3
    points += 1 if sex == "male" else 0
    points += 1 if gestational_diabetes and sex != "male" else 0
    points += int(family_history) + int(hypertension) + (0 if active else 1)
    points += 0 if bmi < 25 else 1 if bmi < 30 else 2 if bmi < 40 else 3
    return points


# -- reading the inputs from the twin --------------------------------------------
def _latest(vault: Vault, metric: str, inputs: Inputs, key: str) -> None:
    series = vault.read_series(metric, purpose=Purpose.TWIN_CORE)
    if len(series):
        inputs.values[key] = float(series.values[-1])
        when = datetime.fromtimestamp(int(series.ts_ms[-1]) / 1000, UTC).date()
        inputs.origin[key] = f"measured {when.isoformat()} ({series.streams[0].source})"


def gather_inputs(vault: Vault, today: date | None = None) -> Inputs:
    """Risk factors from the twin (read for the twin_core purpose) and the profile."""
    inputs = Inputs()
    profile = vault.profile()
    for key in (
        "sex",
        "race",
        "smoker",
        "diabetes",
        "bp_treated",
        "physically_active",
        "daily_vegetables",
        "high_glucose_history",
        "family_history_diabetes",
        "gestational_diabetes",
        "hypertension",
    ):
        if key in profile:
            value = profile[key]
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
                value = value.lower() in ("true", "yes", "1")
            inputs.values[key] = value
            inputs.origin[key] = "self-reported"
    if profile.get("birth_date"):
        born = date.fromisoformat(str(profile["birth_date"]))
        now = today or datetime.now(UTC).date()
        inputs.values["age"] = (
            now.year - born.year - ((now.month, now.day) < (born.month, born.day))
        )
        inputs.origin["age"] = "from the birth date in the profile"
    for metric, key in (
        ("total_cholesterol", "total_chol"),
        ("hdl_cholesterol", "hdl"),
        ("blood_pressure_systolic", "sbp"),
        ("bmi", "bmi"),
        ("waist_circumference", "waist_cm"),
        ("body_mass", "weight_kg"),
        ("height", "height_cm"),
    ):
        _latest(vault, metric, inputs, key)
    if "bmi" not in inputs.values and {"weight_kg", "height_cm"} <= inputs.values.keys():
        inputs.values["bmi"] = inputs.values["weight_kg"] / (inputs.values["height_cm"] / 100) ** 2
        inputs.origin["bmi"] = "computed from the latest weight and height"
    return inputs


def _described(inputs: Inputs, keys: tuple[str, ...]) -> dict[str, str]:
    return {
        k: (
            f"{inputs.values[k]} ({inputs.origin.get(k, 'given')})"
            if k in inputs.values
            else "missing"
        )
        for k in keys
    }


def _missing(inputs: Inputs, keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if inputs.values.get(k) is None]


def all_scores(inputs: Inputs) -> list[RiskResult]:
    results = []
    age = inputs.get("age")
    specs: list[tuple[str, str, tuple[str, ...], tuple[float, float], Any, str]] = [
        (
            "ACC/AHA pooled cohort equations: 10-year ASCVD",
            "Goff et al., Circulation 2014",
            ("age", "sex", "total_chol", "hdl", "sbp", "bp_treated", "smoker", "diabetes"),
            (40, 79),
            lambda v: pooled_cohort_risk(
                v["age"],
                v["sex"],
                v.get("race") or "white",
                v["total_chol"],
                v["hdl"],
                v["sbp"],
                v["bp_treated"],
                v["smoker"],
                v["diabetes"],
            ),
            "%",
        ),
        (
            "Framingham general CVD: 10-year risk",
            "D'Agostino et al., Circulation 2008",
            ("age", "sex", "total_chol", "hdl", "sbp", "bp_treated", "smoker", "diabetes"),
            (30, 74),
            lambda v: framingham_risk(
                v["age"],
                v["sex"],
                v["total_chol"],
                v["hdl"],
                v["sbp"],
                v["bp_treated"],
                v["smoker"],
                v["diabetes"],
            ),
            "%",
        ),
        (
            "FINDRISC: 10-year type 2 diabetes",
            "Lindström & Tuomilehto, Diabetes Care 2003",
            (
                "age",
                "bmi",
                "waist_cm",
                "sex",
                "physically_active",
                "daily_vegetables",
                "bp_treated",
                "high_glucose_history",
                "family_history_diabetes",
            ),
            (18, 120),
            lambda v: findrisc_points(
                v["age"],
                v["bmi"],
                v["waist_cm"],
                v["sex"],
                v["physically_active"],
                v["daily_vegetables"],
                v["bp_treated"],
                v["high_glucose_history"],
                v["family_history_diabetes"],
            ),
            "points",
        ),
        (
            "ADA type 2 diabetes risk test",
            "Bang et al., Ann Intern Med 2009",
            ("age", "sex", "family_history_diabetes", "hypertension", "physically_active", "bmi"),
            (18, 120),
            lambda v: ada_points(
                v["age"],
                v["sex"],
                bool(v.get("gestational_diabetes")),
                v["family_history_diabetes"] not in (None, "none", False),
                v["hypertension"],
                v["physically_active"],
                v["bmi"],
            ),
            "points",
        ),
    ]
    for name, reference, keys, (low, high), compute, unit in specs:
        described = _described(inputs, keys)
        missing = _missing(inputs, keys)
        refused = None
        if missing:
            refused = f"missing: {', '.join(missing)}"
        elif not (low <= age <= high):
            refused = f"validated only for ages {low:g}-{high:g}; the person is {age}"
        value = None if refused else float(compute(inputs.values))
        category = None
        if value is not None and unit == "points" and name.startswith("FINDRISC"):
            category = findrisc_category(int(value))
        elif value is not None and unit == "points":
            category = "high risk (5 or more)" if value >= 5 else "below the high-risk cut-off"
        elif value is not None:
            category = (
                "low (<5%)"
                if value < 5
                else "borderline (5-7.5%)"
                if value < 7.5
                else "intermediate (7.5-20%)"
                if value < 20
                else "high (≥20%)"
            )
        results.append(
            RiskResult(
                name,
                reference,
                None if value is None else round(value, 1),
                unit,
                category,
                refused,
                described,
            )
        )
    return results
