"""Validated risk scores, computed from what the twin holds.

* ACC/AHA pooled cohort equations (Goff et al. 2013), 10-year ASCVD risk, ages 40-79,
  total cholesterol 130-320 mg/dL, HDL 20-100 mg/dL, systolic pressure 90-200 mmHg.
* AHA PREVENT base equations (Khan et al., Circulation 2024): 10-year total CVD, ASCVD
  and heart failure, ages 30-79 (coefficients: the paper's Supplemental Table S12A).
* Framingham general cardiovascular risk (D'Agostino et al. 2008), 10-year CVD, ages 30-74.
* FINDRISC (Lindström & Tuomilehto 2003), 10-year type 2 diabetes risk, adults.
* ADA type 2 diabetes risk test (Bang et al. 2009), adults.

Inputs come from the record where it has them — the latest measured lab and vital
values, a US Core smoking-status observation (LOINC 72166-2), active diabetes and
hypertension Conditions, active antihypertensive and statin MedicationStatements or
MedicationRequests — and otherwise from the person's profile (self-reported, checked by
:mod:`lifetwin.core.profile`). Each score says where every input came from (and when),
names an input that is in the vault but not granted for the twin_core purpose (and how
to grant it) apart from one that is missing, and refuses — with the reason and the
value — outside its validated ranges. Decision support, not a diagnosis.

Entry points: :func:`risk_report` (a pydantic report with lineage), and the parts it is
made of, :func:`gather_inputs` and :func:`all_scores`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifetwin.core.model import Event, Observation
from lifetwin.core.profile import read_profile
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Lineage
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
    """Risk-factor values with where each came from, and what could not be used."""

    values: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # measured <date> / self-reported
    # input -> how to grant it: held in the vault, but not for the twin_core purpose
    not_granted: dict[str, str] = field(default_factory=dict)
    # input -> why a stored profile answer cannot be used (stored before it was checked)
    invalid: dict[str, str] = field(default_factory=dict)
    # input -> when the value was measured or recorded (absent: self-reported)
    measured_on: dict[str, date] = field(default_factory=dict)
    # input -> the consent scope that would let the twin use it (held, not granted)
    withheld_scope: dict[str, str] = field(default_factory=dict)
    lineage: Lineage | None = None

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
    inputs: dict[str, str]  # input -> "value (origin)", "missing" or "not granted ..."
    validity: str = ""  # the population and ranges the score is validated for
    based_on: date | None = None  # the date of the oldest measured input it used


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
    """FINDRISC total, 0-26. ``family_history``: none, second_degree (grandparent, aunt,
    uncle, first cousin) or first_degree (parent, sibling, child — also given as
    parent_or_sibling or child).

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
    points += {
        "none": 0,
        "second_degree": 3,
        "first_degree": 5,
        "parent_or_sibling": 5,
        "child": 5,
    }[family_history]
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

    ``family_history``: a mother, father, sister or brother with diabetes (the test's
    question; a child or a second-degree relative does not count).

    >>> ada_points(45, "female", False, True, False, True, 31)
    4
    """
    points = 0 if age < 40 else 1 if age < 50 else 2 if age < 60 else 3
    points += 1 if sex == "male" else 0
    points += 1 if gestational_diabetes and sex != "male" else 0
    points += int(family_history) + int(hypertension) + (0 if active else 1)
    points += 0 if bmi < 25 else 1 if bmi < 30 else 2 if bmi < 40 else 3
    return points


# -- AHA PREVENT (Khan et al., Circulation 2024) -------------------------------------
# Base model, 10-year risk: Supplemental Table S12A of the paper. Term order of each
# row: constant, age, non-HDL-C, HDL-C, SBP<110, SBP>=110, diabetes, current smoking,
# BMI<30, BMI>=30, eGFR<60, eGFR>=60, antihypertensive use, statin use, treated SBP>=110,
# treated non-HDL-C, age x non-HDL-C, age x HDL-C, age x SBP>=110, age x diabetes,
# age x smoking, age x BMI>=30, age x eGFR<60.
_PREVENT_TERMS = (
    "constant",
    "age",
    "non_hdl",
    "hdl",
    "sbp_low",
    "sbp_high",
    "diabetes",
    "smoker",
    "bmi_low",
    "bmi_high",
    "egfr_low",
    "egfr_high",
    "bp_treated",
    "statin",
    "treated_sbp_high",
    "treated_non_hdl",
    "age_non_hdl",
    "age_hdl",
    "age_sbp_high",
    "age_diabetes",
    "age_smoker",
    "age_bmi_high",
    "age_egfr_low",
)
# fmt: off
_PREVENT: dict[tuple[str, str], tuple[float, ...]] = {
    ("female", "total_cvd"): (
        -3.307728, 0.7939329, 0.0305239, -0.1606857, -0.2394003, 0.3600781, 0.8667604,
        0.5360739, 0.0, 0.0, 0.6045917, 0.0433769, 0.3151672, -0.1477655, -0.0663612,
        0.1197879, -0.0819715, 0.0306769, -0.0946348, -0.27057, -0.078715, 0.0, -0.1637806,
    ),
    ("female", "ascvd"): (
        -3.819975, 0.719883, 0.1176967, -0.151185, -0.0835358, 0.3592852, 0.8348585,
        0.4831078, 0.0, 0.0, 0.4864619, 0.0397779, 0.2265309, -0.0592374, -0.0395762,
        0.0844423, -0.0567839, 0.0325692, -0.1035985, -0.2417542, -0.0791142, 0.0, -0.1671492,
    ),
    ("female", "heart_failure"): (
        -4.310409, 0.8998235, 0.0, 0.0, -0.4559771, 0.3576505, 1.038346, 0.583916,
        -0.0072294, 0.2997706, 0.7451638, 0.0557087, 0.3534442, 0.0, -0.0981511, 0.0, 0.0,
        0.0, -0.0946663, -0.3581041, -0.1159453, -0.003878, -0.1884289,
    ),
    ("male", "total_cvd"): (
        -3.031168, 0.7688528, 0.0736174, -0.0954431, -0.4347345, 0.3362658, 0.7692857,
        0.4386871, 0.0, 0.0, 0.5378979, 0.0164827, 0.288879, -0.1337349, -0.0475924,
        0.150273, -0.0517874, 0.0191169, -0.1049477, -0.2251948, -0.0895067, 0.0, -0.1543702,
    ),
    ("male", "ascvd"): (
        -3.500655, 0.7099847, 0.1658663, -0.1144285, -0.2837212, 0.3239977, 0.7189597,
        0.3956973, 0.0, 0.0, 0.3690075, 0.0203619, 0.2036522, -0.0865581, -0.0322916,
        0.114563, -0.0300005, 0.0232747, -0.0927024, -0.2018525, -0.0970527, 0.0, -0.1217081,
    ),
    ("male", "heart_failure"): (
        -3.946391, 0.8972642, 0.0, 0.0, -0.6811466, 0.3634461, 0.923776, 0.5023736,
        -0.0485841, 0.3726929, 0.6926917, 0.0251827, 0.2980922, 0.0, -0.0497731, 0.0, 0.0,
        0.0, -0.1289201, -0.3040924, -0.1401688, 0.0068126, -0.1797778,
    ),
}
# fmt: on
PREVENT_OUTCOMES = ("total_cvd", "ascvd", "heart_failure")
_MG_DL_TO_MMOL_L = 0.02586  # the factor the PREVENT equations use for cholesterol


def prevent_risk(
    outcome: str,
    age: float,
    sex: str,
    total_chol: float,
    hdl: float,
    sbp: float,
    bp_treated: bool,
    statin: bool,
    diabetes: bool,
    smoker: bool,
    egfr: float,
    bmi: float,
) -> float:
    """10-year risk in percent of ``outcome`` (total_cvd, ascvd or heart_failure) by the
    AHA PREVENT base equations (Khan et al. 2024, Supplemental Table S12A).

    The paper's worked example (Table S25: a 50-year-old woman, TC 200, HDL 45 mg/dL,
    SBP 160 mmHg treated, no statin, diabetes, not smoking, eGFR 90, BMI 35) gives a
    10-year total CVD risk of 14.7 %:

    >>> args = (50, "female", 200, 45, 160, True, False, True, False, 90, 35)
    >>> [round(prevent_risk(o, *args), 1) for o in PREVENT_OUTCOMES]
    [14.7, 9.2, 8.1]
    """
    a = (age - 55) / 10
    non_hdl = _MG_DL_TO_MMOL_L * (total_chol - hdl) - 3.5
    hdl_term = (_MG_DL_TO_MMOL_L * hdl - 1.3) / 0.3
    sbp_high = (max(sbp, 110) - 130) / 20
    egfr_low = (min(egfr, 60) - 60) / -15
    bmi_high = (max(bmi, 30) - 30) / 5
    treated, on_statin = float(bp_treated), float(statin)
    terms = {
        "constant": 1.0,
        "age": a,
        "non_hdl": non_hdl,
        "hdl": hdl_term,
        "sbp_low": (min(sbp, 110) - 110) / 20,
        "sbp_high": sbp_high,
        "diabetes": float(diabetes),
        "smoker": float(smoker),
        "bmi_low": (min(bmi, 30) - 25) / 5,
        "bmi_high": bmi_high,
        "egfr_low": egfr_low,
        "egfr_high": (max(egfr, 60) - 90) / -15,
        "bp_treated": treated,
        "statin": on_statin,
        "treated_sbp_high": treated * sbp_high,
        "treated_non_hdl": on_statin * non_hdl,
        "age_non_hdl": a * non_hdl,
        "age_hdl": a * hdl_term,
        "age_sbp_high": a * sbp_high,
        "age_diabetes": a * float(diabetes),
        "age_smoker": a * float(smoker),
        "age_bmi_high": a * bmi_high,
        "age_egfr_low": a * egfr_low,
    }
    beta = _PREVENT[("male" if sex == "male" else "female", outcome)]
    log_odds = sum(b * terms[t] for b, t in zip(beta, _PREVENT_TERMS, strict=True))
    return float(100 / (1 + math.exp(-log_odds)))


# -- reading the inputs from the record and the profile ------------------------------
_MEASURED = (
    ("total_cholesterol", "total_chol"),
    ("hdl_cholesterol", "hdl"),
    ("blood_pressure_systolic", "sbp"),
    ("bmi", "bmi"),
    ("waist_circumference", "waist_cm"),
    ("body_mass", "weight_kg"),
    ("height", "height_cm"),
    ("egfr", "egfr"),
)
_PROFILE_KEYS = (
    "sex",
    "race",
    "smoker",
    "diabetes",
    "hypertension",
    "bp_treated",
    "statin",
    "physically_active",
    "daily_vegetables",
    "high_glucose_history",
    "family_history_diabetes",
    "gestational_diabetes",
    "waist_cm",
    "weight_kg",
    "height_cm",
)
# Conditions by code system prefix: SNOMED CT concepts (with their usual children) and
# ICD-10 categories. Gestational diabetes and prediabetes are not diabetes here.
_DIABETES_CODES = {"73211009", "44054006", "46635009", "190330002", "609567009"}
_DIABETES_ICD = ("E08", "E09", "E10", "E11", "E13", "E14")
_HYPERTENSION_CODES = {"38341003", "59621000", "1201005", "10725009", "31992008"}
_HYPERTENSION_ICD = ("I10", "I11", "I12", "I13", "I15", "I16")
# Ingredient names of antihypertensive classes (ACE inhibitors, ARBs, calcium-channel
# blockers, thiazide and loop diuretics, beta blockers, others) and of statins, matched
# in the medication's name; ATC codes C02, C03, C07, C08, C09 and C10AA too.
_ANTIHYPERTENSIVES = (
    "pril",  # ACE inhibitors: lisinopril, enalapril, ramipril, ...
    "sartan",  # ARBs: losartan, valsartan, ...
    "dipine",  # dihydropyridines: amlodipine, nifedipine, ...
    "diltiazem",
    "verapamil",
    "thiazide",  # hydrochlorothiazide, chlorothiazide
    "chlorthalidone",
    "indapamide",
    "furosemide",
    "torsemide",
    "bumetanide",
    "spironolactone",
    "eplerenone",
    "olol",  # beta blockers: metoprolol, atenolol, ...
    "carvedilol",
    "labetalol",
    "clonidine",
    "doxazosin",
    "prazosin",
    "terazosin",
    "hydralazine",
    "methyldopa",
    "aliskiren",
    "minoxidil",
)
_STATINS = ("statin",)  # atorvastatin, rosuvastatin, simvastatin, pravastatin, ...
_ACTIVE = {"active", "recurrence", "relapse", "intended", "on-hold", "completed", ""}


def _coding_matches(code: dict[str, str], snomed: set[str], icd: tuple[str, ...]) -> bool:
    value = code.get("code", "")
    system = code.get("system", "")
    if "snomed" in system:
        return value in snomed
    if "icd" in system:
        return value.upper().startswith(icd)
    return False


def _is_diabetes(code: dict[str, str]) -> bool:
    if _coding_matches(code, _DIABETES_CODES, _DIABETES_ICD):
        return True
    text = code.get("display", "").lower()
    return "diabetes" in text and not any(w in text for w in ("gestational", "pre", "insipidus"))


def _is_hypertension(code: dict[str, str]) -> bool:
    if _coding_matches(code, _HYPERTENSION_CODES, _HYPERTENSION_ICD):
        return True
    text = code.get("display", "").lower()
    return "hypertension" in text and not any(w in text for w in ("pulmonary", "ocular"))


def _medication_class(code: dict[str, str]) -> str | None:
    value = code.get("code", "").upper()
    if "atc" in code.get("system", "").lower() or "whocc" in code.get("system", "").lower():
        if value.startswith(("C02", "C03", "C07", "C08", "C09")):
            return "bp_treated"
        if value.startswith("C10AA"):
            return "statin"
        return None
    text = code.get("display", "").lower()
    if any(name in text for name in _STATINS):
        return "statin"
    if any(name in text for name in _ANTIHYPERTENSIVES):
        return "bp_treated"
    return None


def _grant_hint(vault: Vault, scope: str) -> str:
    return (
        "in the vault but not granted for the twin_core purpose; grant it with "
        f"`lifetwin consent grant '{vault.person.name}' --scope {scope} --purpose twin_core`"
    )


def _note_withheld(vault: Vault, inputs: Inputs, name: str, key: str, read: int) -> None:
    """Mark ``key`` not granted when the vault holds ``name`` but the read saw none of it."""
    if read or key in inputs.values:
        return
    held = [s for s in vault.streams() if s.metric == name]
    if held:
        scope = f"source:'{held[0].source}'" if name.startswith("event:") else f"metric:{name}"
        inputs.not_granted[key] = _grant_hint(vault, scope)
        inputs.withheld_scope[key] = scope.replace("'", "")


def gather_inputs(vault: Vault, today: date | None = None) -> Inputs:
    """Risk factors from the record (read for the twin_core purpose) and the profile."""
    inputs = Inputs()
    purpose = Purpose.TWIN_CORE
    lineage: Lineage | None = None

    def merged(other: Lineage) -> Lineage:
        return other if lineage is None else lineage.merge(other)

    for name, key in _MEASURED:
        series = vault.read_series(name, purpose=purpose)
        lineage = merged(series.lineage)
        if len(series):
            inputs.values[key] = float(series.values[-1])
            when = datetime.fromtimestamp(int(series.ts_ms[-1]) / 1000, UTC).date()
            source = series.streams[int(series.stream_index[-1])].source
            inputs.origin[key] = f"measured {when.isoformat()} ({source})"
            inputs.measured_on[key] = when
        _note_withheld(vault, inputs, name, key, len(series))
    records = vault.read_records("smoking_status", purpose=purpose)
    lineage = merged(records.lineage)
    statuses = [r for r in records if isinstance(r, Observation)]
    if statuses:
        latest = max(statuses, key=lambda r: r.start)
        inputs.values["smoker"] = str(latest.value).startswith("current")
        inputs.origin["smoker"] = (
            f"from the record: smoking status '{latest.value}' on "
            f"{latest.start.date().isoformat()} ({latest.source})"
        )
        inputs.measured_on["smoker"] = latest.start.date()
    _note_withheld(vault, inputs, "smoking_status", "smoker", len(records))
    now = today or datetime.now(UTC).date()
    for name, tests in (
        ("event:condition", {"diabetes": _is_diabetes, "hypertension": _is_hypertension}),
        ("event:medication", None),
    ):
        events = vault.read_records(name, purpose=purpose)
        lineage = merged(events.lineage)
        for event in sorted(events, key=lambda e: e.start):
            if not isinstance(event, Event):
                continue
            code = event.details.get("code") or {}
            status = str(event.details.get("status", "")).lower()
            ended = event.end is not None and event.end.date() < now
            if status not in _ACTIVE or ended or not isinstance(code, dict):
                continue
            if tests is None:
                found = _medication_class(code)
                keys = [found] if found else []
            else:
                keys = [k for k, test in tests.items() if test(code)]
            for key in keys:
                what = "Condition" if tests else "medication"
                inputs.values[key] = True
                inputs.origin[key] = (
                    f"from the record: {what} '{event.title}' "
                    f"({status or 'no status'}, {event.start.date().isoformat()})"
                )
                inputs.measured_on[key] = event.start.date()
        for key in ("diabetes", "hypertension") if tests else ("bp_treated", "statin"):
            _note_withheld(vault, inputs, name, key, len(events))
    profile, problems = read_profile(vault.profile())
    for key in _PROFILE_KEYS:
        value = getattr(profile, key)
        if key in inputs.values:
            if value is not None and value != inputs.values[key]:
                inputs.origin[key] += f"; the profile says {value}"
            continue
        if key in problems:
            inputs.invalid[key] = problems[key]
        elif value is not None:
            inputs.values[key] = value
            inputs.origin[key] = "self-reported"
            inputs.not_granted.pop(key, None)
    if profile.birth_date is not None:
        born = profile.birth_date
        inputs.values["age"] = (
            now.year - born.year - ((now.month, now.day) < (born.month, born.day))
        )
        inputs.origin["age"] = "from the birth date in the profile"
    elif "birth_date" in problems:
        inputs.invalid["age"] = problems["birth_date"]
    if "bmi" not in inputs.values and {"weight_kg", "height_cm"} <= inputs.values.keys():
        inputs.values["bmi"] = inputs.values["weight_kg"] / (inputs.values["height_cm"] / 100) ** 2
        inputs.origin["bmi"] = "computed from the latest weight and height"
        inputs.not_granted.pop("bmi", None)
    inputs.lineage = lineage
    return inputs


def _described(inputs: Inputs, keys: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for k in keys:
        if k in inputs.values:
            out[k] = f"{inputs.values[k]} ({inputs.origin.get(k, 'given')})"
        elif k in inputs.invalid:
            out[k] = f"not usable: {inputs.invalid[k]}"
        elif k in inputs.not_granted:
            out[k] = inputs.not_granted[k]
        else:
            out[k] = "missing"
    return out


def _missing(inputs: Inputs, keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if inputs.values.get(k) is None]


_LABELS = {
    "total_chol": ("total cholesterol", "mg/dL"),
    "hdl": ("HDL cholesterol", "mg/dL"),
    "sbp": ("systolic blood pressure", "mmHg"),
    "bmi": ("BMI", "kg/m²"),
    "egfr": ("eGFR", "mL/min/1.73 m²"),
    "age": ("age", "years"),
}


@dataclass(frozen=True)
class _Score:
    name: str
    reference: str
    keys: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]  # input -> validated range
    compute: Callable[[dict[str, Any]], float]
    unit: str
    validity: str
    sexes: tuple[str, ...] = ("female", "male")


def _prevent(outcome: str) -> Callable[[dict[str, Any]], float]:
    return lambda v: prevent_risk(
        outcome,
        v["age"],
        v["sex"],
        v["total_chol"],
        v["hdl"],
        v["sbp"],
        v["bp_treated"],
        v["statin"],
        v["diabetes"],
        v["smoker"],
        v["egfr"],
        v["bmi"],
    )


_CARDIO_KEYS = ("age", "sex", "total_chol", "hdl", "sbp", "bp_treated", "smoker", "diabetes")
_PREVENT_KEYS = (*_CARDIO_KEYS[:6], "statin", "smoker", "diabetes", "egfr", "bmi")
_PREVENT_RANGES = {
    "age": (30.0, 79.0),
    "total_chol": (130.0, 320.0),
    "hdl": (20.0, 100.0),
    "sbp": (90.0, 180.0),
    "bmi": (18.5, 39.9),
    "egfr": (15.0, 140.0),
}
_PREVENT_VALIDITY = (
    "adults 30-79 without cardiovascular disease; total cholesterol 130-320 and HDL "
    "20-100 mg/dL, systolic pressure 90-180 mmHg, BMI 18.5-39.9, eGFR 15-140"
)
_SCORES = (
    _Score(
        "ACC/AHA pooled cohort equations: 10-year ASCVD",
        "Goff et al., Circulation 2014",
        _CARDIO_KEYS,
        {"age": (40, 79), "total_chol": (130, 320), "hdl": (20, 100), "sbp": (90, 200)},
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
        "adults 40-79 without cardiovascular disease; total cholesterol 130-320 and HDL "
        "20-100 mg/dL, systolic pressure 90-200 mmHg",
    ),
    _Score(
        "AHA PREVENT: 10-year total cardiovascular disease",
        "Khan et al., Circulation 2024 (base model, Table S12A)",
        _PREVENT_KEYS,
        _PREVENT_RANGES,
        _prevent("total_cvd"),
        "%",
        _PREVENT_VALIDITY,
    ),
    _Score(
        "AHA PREVENT: 10-year ASCVD",
        "Khan et al., Circulation 2024 (base model, Table S12A)",
        _PREVENT_KEYS,
        _PREVENT_RANGES,
        _prevent("ascvd"),
        "%",
        _PREVENT_VALIDITY,
    ),
    _Score(
        "AHA PREVENT: 10-year heart failure",
        "Khan et al., Circulation 2024 (base model, Table S12A)",
        _PREVENT_KEYS,
        _PREVENT_RANGES,
        _prevent("heart_failure"),
        "%",
        _PREVENT_VALIDITY,
    ),
    _Score(
        "Framingham general CVD: 10-year risk",
        "D'Agostino et al., Circulation 2008",
        _CARDIO_KEYS,
        {"age": (30, 74)},
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
        "adults 30-74 without cardiovascular disease",
    ),
    _Score(
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
        {"age": (18, 120)},
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
        "adults without diabetes",
    ),
    _Score(
        "ADA type 2 diabetes risk test",
        "Bang et al., Ann Intern Med 2009",
        ("age", "sex", "family_history_diabetes", "hypertension", "physically_active", "bmi"),
        {"age": (18, 120)},
        lambda v: ada_points(
            v["age"],
            v["sex"],
            bool(v.get("gestational_diabetes")),
            v["family_history_diabetes"] == "parent_or_sibling",
            v["hypertension"],
            v["physically_active"],
            v["bmi"],
        ),
        "points",
        "adults without diabetes",
    ),
)


def _refusal(score: _Score, inputs: Inputs) -> str | None:
    invalid = [k for k in score.keys if k in inputs.invalid and k not in inputs.values]
    if invalid:
        return inputs.invalid[invalid[0]].rstrip(".")
    withheld = [k for k in _missing(inputs, score.keys) if k in inputs.not_granted]
    if withheld:
        return (
            f"not granted for the twin_core purpose: {', '.join(withheld)} "
            "(in the vault; see each input for how to grant it)"
        )
    missing = _missing(inputs, score.keys)
    if missing:
        return f"missing: {', '.join(missing)}"
    values = inputs.values
    if values["sex"] not in score.sexes:
        return f"the equations are sex-specific (female or male); the profile says {values['sex']}"
    if score.name.startswith("ADA") and values["family_history_diabetes"] == "first_degree":
        return (
            "family_history_diabetes 'first_degree' does not say whether a parent or "
            "sibling has diabetes (the ADA test counts only those): answer "
            "parent_or_sibling or child"
        )
    age_low, age_high = score.ranges["age"]
    if not age_low <= values["age"] <= age_high:
        return f"validated only for ages {age_low:g}-{age_high:g}; the person is {values['age']}"
    for key, (low, high) in score.ranges.items():
        if key == "age":
            continue
        label, unit = _LABELS[key]
        if not low <= values[key] <= high:
            return (
                f"outside the validated range: {label} {values[key]:g} {unit} "
                f"(validated {low:g}-{high:g})"
            )
    return None


def _category(name: str, unit: str, value: float) -> str:
    if name.startswith("FINDRISC"):
        return findrisc_category(int(value))
    if unit == "points":
        return "high risk (5 or more)" if value >= 5 else "below the high-risk cut-off"
    if name.startswith("AHA PREVENT"):
        # The 2024 guidance bands for 10-year total CVD risk (Khan et al.).
        return (
            "low (<5%)"
            if value < 5
            else "borderline (5-7.5%)"
            if value < 7.5
            else "intermediate (7.5-20%)"
            if value < 20
            else "high (≥20%)"
        )
    return (
        "low (<5%)"
        if value < 5
        else "borderline (5-7.5%)"
        if value < 7.5
        else "intermediate (7.5-20%)"
        if value < 20
        else "high (≥20%)"
    )


def all_scores(inputs: Inputs) -> list[RiskResult]:
    results = []
    for score in _SCORES:
        refused = _refusal(score, inputs)
        value = None if refused else float(score.compute(inputs.values))
        dates = [inputs.measured_on[k] for k in score.keys if k in inputs.measured_on]
        results.append(
            RiskResult(
                score.name,
                score.reference,
                None if value is None else round(value, 1),
                score.unit,
                None if value is None else _category(score.name, score.unit, value),
                refused,
                _described(inputs, score.keys),
                score.validity,
                min(dates) if dates and value is not None else None,
            )
        )
    return results


class RiskScore(BaseModel):
    """One score: its value (or why there is none) and where each input came from."""

    name: str
    reference: str
    value: float | None
    unit: str
    category: str | None
    refused: str | None
    inputs: dict[str, str]
    validity: str
    based_on: date | None = Field(
        default=None, description="the date of the oldest measured input it used"
    )


class InputHint(BaseModel):
    """How to add an input a score is missing: a profile answer, a value to log, a lab
    result to import, or a grant to make (adapters turn it into a link or a command)."""

    input: str
    label: str
    how: Literal["profile", "log", "import", "grant"]
    field: str | None = Field(
        default=None, description="the profile fact, or what to log (blood_pressure, ...)"
    )
    scope: str | None = Field(default=None, description="the scope to grant for twin_core")
    text: str


class RiskReport(BaseModel):
    """Every risk score for a person, with the lineage of the reads behind them."""

    scores: list[RiskScore]
    not_granted: dict[str, str] = Field(
        default_factory=dict, description="inputs held in the vault but not granted"
    )
    hints: dict[str, InputHint] = Field(
        default_factory=dict, description="how to add each input a score is missing"
    )
    lineage: Lineage | None = None
    note: str = "Decision support, not a diagnosis: discuss these with a clinician."


def risk_report(vault: Vault, today: date | None = None) -> RiskReport:
    """Gather the inputs (twin_core purpose) and compute every score."""
    from dataclasses import asdict

    inputs = gather_inputs(vault, today)
    return RiskReport(
        scores=[RiskScore.model_validate(asdict(r)) for r in all_scores(inputs)],
        not_granted=dict(inputs.not_granted),
        hints=input_hints(inputs),
        lineage=inputs.lineage,
    )


def score_inputs() -> dict[str, tuple[str, ...]]:
    """Each score's name and the inputs it needs."""
    return {score.name: score.keys for score in _SCORES}


# Inputs measured rather than answered: what to log (or import) to add them.
_LOGGED = {
    "total_chol": ("cholesterol", "log a cholesterol result (or import a lab result)"),
    "hdl": ("cholesterol", "log a cholesterol result (or import a lab result)"),
    "sbp": ("blood_pressure", "log a blood pressure reading"),
    "egfr": ("egfr", "import a lab result with eGFR (or log the value from it)"),
}
_INPUT_LABELS = {
    "age": "age (from your birth date)",
    "bmi": "BMI (from your weight and height)",
    "sbp": "systolic blood pressure",
    "total_chol": "total cholesterol",
    "hdl": "HDL cholesterol",
    "egfr": "eGFR (kidney function)",
}


def input_hints(inputs: Inputs) -> dict[str, InputHint]:
    """How to add every input some score misses (absent, not granted, or not usable)."""
    from lifetwin.core.profile import DESCRIPTIONS

    hints: dict[str, InputHint] = {}
    for score in _SCORES:
        for key in score.keys:
            if inputs.values.get(key) is not None or key in hints:
                continue
            label = _INPUT_LABELS.get(key, DESCRIPTIONS.get(key, key).split(":")[0])
            if key in inputs.withheld_scope:
                scope = inputs.withheld_scope[key]
                hints[key] = InputHint(
                    input=key,
                    label=label,
                    how="grant",
                    scope=scope,
                    text=f"it is in your vault: allow {scope} for the twin itself (twin_core)",
                )
            elif key in _LOGGED:
                what, text = _LOGGED[key]
                hints[key] = InputHint(
                    input=key,
                    label=label,
                    how="log" if key != "egfr" else "import",
                    field=what,
                    text=text,
                )
            else:
                fact = {"age": "birth_date", "bmi": "height_cm"}.get(key, key)
                if key == "bmi" and inputs.values.get("height_cm") is not None:
                    fact = "weight_kg"
                verb = "correct" if key in inputs.invalid else "answer"
                hints[key] = InputHint(
                    input=key,
                    label=label,
                    how="profile",
                    field=fact,
                    text=f"{verb} '{DESCRIPTIONS.get(fact, fact)}' in your profile",
                )
    return hints
