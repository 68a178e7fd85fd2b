"""The person's profile: facts that are not measurements, each answer checked.

A profile answer comes from a person typing ``smoker=yes``, from a form, or from a
medical record (a FHIR Patient's birth date and sex). :class:`Profile` is the schema
every answer goes through before it is stored, and again when a risk score reads it:
yes/no questions take yes, no, true, false, y, n, 1 or 0 (any case); choices take one of
their listed values (and a few plain spellings, such as ``f`` for female); body
measures take a number with an optional unit (``180 cm``, ``71 in``, ``82 kg``,
``181 lb``) and must lie in a plausible range. Anything else is refused with one
sentence that names the fact, the answer and what is accepted.

>>> parse_facts({"smoker": "Yes", "sex": "F", "height_cm": "71 in"})
{'sex': 'female', 'smoker': True, 'height_cm': 180.34}
>>> try:
...     parse_facts({"smoker": "maybe"})
... except ProfileError as refused:
...     print(refused)
The answer 'maybe' for smoker is not yes or no.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from lifetwin.core.errors import LifeTwinError


class ProfileError(LifeTwinError):
    """A profile answer that is not one the schema accepts."""


_TRUE = {"yes", "y", "true", "t", "1", "on"}
_FALSE = {"no", "n", "false", "f", "0", "off", "never"}

Sex = Literal["female", "male", "other", "unknown"]
Race = Literal["black", "white", "other"]
FamilyHistory = Literal["none", "second_degree", "parent_or_sibling", "child", "first_degree"]

_SEX_SPELLINGS = {"f": "female", "woman": "female", "m": "male", "man": "male"}
_RACE_SPELLINGS = {
    "african american": "black",
    "african_american": "black",
    "aa": "black",
    "caucasian": "white",
}
_FAMILY_SPELLINGS = {
    "no": "none",
    "false": "none",
    "0": "none",
    "grandparent": "second_degree",
    "aunt": "second_degree",
    "uncle": "second_degree",
    "cousin": "second_degree",
    "parent": "parent_or_sibling",
    "mother": "parent_or_sibling",
    "father": "parent_or_sibling",
    "sibling": "parent_or_sibling",
    "brother": "parent_or_sibling",
    "sister": "parent_or_sibling",
}

# body measures: key -> (canonical unit, other units with their factor, plausible range)
_MEASURES: dict[str, tuple[str, dict[str, float], float, float]] = {
    "height_cm": ("cm", {"cm": 1.0, "m": 100.0, "in": 2.54, "inch": 2.54, "ft": 30.48}, 50, 272),
    "weight_kg": ("kg", {"kg": 1.0, "lb": 0.45359237, "lbs": 0.45359237}, 20, 500),
    "waist_cm": ("cm", {"cm": 1.0, "m": 100.0, "in": 2.54, "inch": 2.54}, 40, 250),
    "glucose_low_mg_dl": ("mg/dl", {"mg/dl": 1.0, "mmol/l": 18.016}, 54, 100),
    "glucose_high_mg_dl": ("mg/dl", {"mg/dl": 1.0, "mmol/l": 18.016}, 120, 300),
    "max_heart_rate_bpm": ("bpm", {"bpm": 1.0}, 100, 230),
}
_DIABETES_SPELLINGS = {
    "type 1": "type_1",
    "t1": "type_1",
    "t1d": "type_1",
    "1": "type_1",
    "type 2": "type_2",
    "t2": "type_2",
    "t2d": "type_2",
    "2": "type_2",
    "gdm": "gestational",
    "no": "none",
}
_NUMBER_WITH_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z/]*)\s*$")

DESCRIPTIONS: dict[str, str] = {
    "birth_date": "birth date, YYYY-MM-DD",
    "sex": "female, male, other or unknown",
    "postcode": "postal code",
    "race": "black, white or other (the pooled cohort equations use it)",
    "smoker": "smokes now: yes or no",
    "diabetes": "has diabetes: yes or no",
    "hypertension": "has high blood pressure: yes or no",
    "bp_treated": "takes blood-pressure medicine: yes or no",
    "statin": "takes a statin: yes or no",
    "physically_active": "at least 30 minutes of activity most days: yes or no",
    "daily_vegetables": "eats vegetables, fruit or berries every day: yes or no",
    "high_glucose_history": "was ever told of high blood glucose: yes or no",
    "gestational_diabetes": "had diabetes in a pregnancy: yes or no",
    "family_history_diabetes": (
        "relatives with diabetes: none, second_degree (grandparent, aunt, uncle, cousin), "
        "parent_or_sibling, child or first_degree (a parent, sibling or child)"
    ),
    "height_cm": "height, in cm unless another unit is given (cm, m, in, ft)",
    "weight_kg": "weight, in kg unless another unit is given (kg, lb)",
    "waist_cm": "waist circumference, in cm unless another unit is given (cm, in)",
    "glucose_low_mg_dl": "the low end of your glucose target range (default 70 mg/dL)",
    "glucose_high_mg_dl": "the high end of your glucose target range (default 180 mg/dL)",
    "glucose_unit": "how glucose is shown: mg/dl or mmol/l",
    "diabetes_type": "type_1, type_2, gestational, other or none",
    "max_heart_rate_bpm": "maximum heart rate from a field test, for heart-rate zones (100-230)",
    "time_zone": "the home time zone, an IANA name such as Europe/Berlin",
    "currency": "the home currency, an ISO 4217 code such as EUR",
}


def _shown(value: Any) -> str:
    """An answer as it can be quoted in one line (control characters escaped, cut short)."""
    text = str(value).encode("unicode_escape").decode("ascii")
    return text if len(text) <= 40 else text[:37] + "..."


def _yes_no(key: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"The answer '{_shown(value)}' for {key} is not yes or no.")


def _choice(key: str, value: Any, allowed: tuple[str, ...], spellings: dict[str, str]) -> Any:
    if value is None:
        return None
    text = str(value).strip().lower().replace("-", "_")
    text = spellings.get(text, text)
    if text.replace("_", " ") in spellings:
        text = spellings[text.replace("_", " ")]
    if text not in allowed:
        raise ValueError(
            f"The answer '{_shown(value)}' for {key} is not one of {', '.join(allowed)}."
        )
    return text


def _measure(key: str, value: Any) -> float | None:
    if value is None:
        return None
    unit, factors, low, high = _MEASURES[key]
    if isinstance(value, bool):
        raise ValueError(f"The answer '{_shown(value)}' for {key} is not a number.")
    if isinstance(value, int | float):
        number, given = float(value), unit
    else:
        match = _NUMBER_WITH_UNIT.match(str(value))
        if not match:
            raise ValueError(f"The answer '{_shown(value)}' for {key} is not a number with a unit.")
        number, given = float(match.group(1)), (match.group(2).lower() or unit)
    if given not in factors:
        raise ValueError(
            f"The unit '{given}' for {key} is not one of {', '.join(sorted(factors))}."
        )
    converted = round(number * factors[given], 2)
    if not low <= converted <= high:
        raise ValueError(
            f"The answer '{_shown(value)}' for {key} is outside the plausible range "
            f"{low:g}-{high:g} {unit}."
        )
    return converted


class Profile(BaseModel):
    """Every profile fact LifeTwin knows, each optional, each checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    birth_date: date | None = None
    sex: Sex | None = None
    postcode: str | None = None
    race: Race | None = None
    smoker: bool | None = None
    diabetes: bool | None = None
    hypertension: bool | None = None
    bp_treated: bool | None = None
    statin: bool | None = None
    physically_active: bool | None = None
    daily_vegetables: bool | None = None
    high_glucose_history: bool | None = None
    gestational_diabetes: bool | None = None
    family_history_diabetes: FamilyHistory | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    waist_cm: float | None = None
    glucose_low_mg_dl: float | None = None
    glucose_high_mg_dl: float | None = None
    glucose_unit: Literal["mg/dl", "mmol/l"] | None = None
    diabetes_type: Literal["type_1", "type_2", "gestational", "other", "none"] | None = None
    max_heart_rate_bpm: float | None = None
    time_zone: str | None = None
    currency: str | None = None

    @field_validator(
        "smoker",
        "diabetes",
        "hypertension",
        "bp_treated",
        "statin",
        "physically_active",
        "daily_vegetables",
        "high_glucose_history",
        "gestational_diabetes",
        mode="before",
    )
    @classmethod
    def _booleans(cls, value: Any, info: Any) -> bool | None:
        return _yes_no(str(info.field_name), value)

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: Any) -> Any:
        return _choice("sex", value, ("female", "male", "other", "unknown"), _SEX_SPELLINGS)

    @field_validator("race", mode="before")
    @classmethod
    def _race(cls, value: Any) -> Any:
        return _choice("race", value, ("black", "white", "other"), _RACE_SPELLINGS)

    @field_validator("family_history_diabetes", mode="before")
    @classmethod
    def _family(cls, value: Any) -> Any:
        allowed = ("none", "second_degree", "parent_or_sibling", "child", "first_degree")
        return _choice("family_history_diabetes", value, allowed, _FAMILY_SPELLINGS)

    @field_validator(
        "height_cm",
        "weight_kg",
        "waist_cm",
        "glucose_low_mg_dl",
        "glucose_high_mg_dl",
        "max_heart_rate_bpm",
        mode="before",
    )
    @classmethod
    def _measures(cls, value: Any, info: Any) -> float | None:
        return _measure(str(info.field_name), value)

    @field_validator("glucose_unit", mode="before")
    @classmethod
    def _glucose_unit(cls, value: Any) -> Any:
        spellings = {"mg/dl": "mg/dl", "mgdl": "mg/dl", "mmol": "mmol/l", "mmol/l": "mmol/l"}
        return _choice("glucose_unit", value, ("mg/dl", "mmol/l"), spellings)

    @field_validator("diabetes_type", mode="before")
    @classmethod
    def _diabetes_type(cls, value: Any) -> Any:
        allowed = ("type_1", "type_2", "gestational", "other", "none")
        return _choice("diabetes_type", value, allowed, _DIABETES_SPELLINGS)

    @field_validator("time_zone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> Any:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        text = str(value).strip()
        try:
            if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", text):
                raise ValueError
            ZoneInfo(text)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(
                f"The answer '{_shown(value)}' for time_zone is not a time zone name "
                "(such as Europe/Berlin)."
            ) from None
        return text

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", text):
            raise ValueError(
                f"The answer '{_shown(value)}' for currency is not a currency code (such as EUR)."
            )
        return text

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth(cls, value: Any) -> Any:
        if value is None or isinstance(value, date):
            born = value
        else:
            try:
                born = date.fromisoformat(str(value).strip())
            except ValueError:
                raise ValueError(
                    f"The answer '{_shown(value)}' for birth_date is not a date (YYYY-MM-DD)."
                ) from None
        if born is not None and not date(1900, 1, 1) <= born <= datetime.now(UTC).date():
            raise ValueError(f"The birth date {born.isoformat()} is not a plausible one.")
        return born

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if not re.fullmatch(r"[A-Za-z0-9 -]{2,12}", text):
            raise ValueError(f"The answer '{_shown(value)}' for postcode is not a postal code.")
        return text

    def stored(self) -> dict[str, Any]:
        """The answers given, as JSON-ready values (dates as YYYY-MM-DD)."""
        return self.model_dump(mode="json", exclude_none=True)


def _sentence(error: ValidationError) -> str:
    first = error.errors()[0]
    field = _shown(".".join(str(p) for p in first.get("loc", ())) or "the profile")
    if first.get("type") == "extra_forbidden":
        return f"'{field}' is not a profile fact LifeTwin knows (known: {', '.join(DESCRIPTIONS)})."
    if first.get("type") == "literal_error":
        return f"The answer '{_shown(first.get('input'))}' for {field} is not one LifeTwin accepts."
    message = str(first.get("msg", "is not valid"))
    return (
        message.removeprefix("Value error, ")
        if "Value error" in message
        else (f"The answer '{_shown(first.get('input'))}' for {field} {message.lower()}.")
    )


def parse_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Check answers (``None`` values are ignored) and return them normalized for storing;
    raise :class:`ProfileError` with one sentence for the first one refused."""
    given = {k: v for k, v in facts.items() if v is not None}
    try:
        return Profile.model_validate(given).stored()
    except ValidationError as exc:
        raise ProfileError(_sentence(exc)) from None


def read_profile(stored: dict[str, Any]) -> tuple[Profile, dict[str, str]]:
    """A stored profile as a :class:`Profile`, leaving out (and naming, with the reason)
    answers stored before they were checked that the schema refuses."""
    problems: dict[str, str] = {}
    kept: dict[str, Any] = {}
    for key, value in stored.items():
        try:
            Profile.model_validate({key: value})
        except ValidationError as exc:
            problems[key] = _sentence(exc)
            continue
        kept[key] = value
    return Profile.model_validate(kept), problems
