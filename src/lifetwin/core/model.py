"""Observations, events and problems: what sources produce and the store keeps."""

from __future__ import annotations

import math
from datetime import datetime
from enum import IntFlag, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Quality(IntFlag):
    """Quality flags carried with each observation (stored as a bit mask)."""

    NONE = 0
    MANUAL_ENTRY = 1  # typed in by the person, not measured
    ESTIMATED = 2  # computed or interpolated by the source
    CALIBRATION = 4  # a calibration reading (a finger-stick for a CGM)
    LOW_CONFIDENCE = 8  # the source flagged it (sensor noise, warm-up)
    CORRECTED = 16  # replaces an earlier value the person marked wrong
    SENSOR_LIMIT = 32  # clipped at the sensor's limit ("LOW", "HIGH")


class Provenance(BaseModel):
    """Where one observation came from: the file and the record inside it."""

    model_config = ConfigDict(frozen=True)

    file: str | None = None
    line: int | None = None  # the line (or element index) in that file
    record: str | None = None  # the source's own id for the record, when it has one


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("times must carry a time zone (an offset or UTC)")
    return value


class Observation(BaseModel):
    """One value of one metric for one person, at an instant or over an interval.

    ``value`` is a number in the metric's canonical unit once normalized, or a
    category or text for metrics of those types. ``unit`` is the unit the value
    is in; connectors may yield any convertible unit and the importer converts.
    """

    model_config = ConfigDict(frozen=True)

    person: str | None = None
    metric: str
    value: float | str
    unit: str | None = None
    start: datetime
    end: datetime | None = None
    source: str = "unknown"
    device: str | None = None
    provenance: Provenance = Field(default_factory=Provenance)
    quality: Quality = Quality.NONE

    _check_start = field_validator("start")(_aware)

    @field_validator("end")
    @classmethod
    def _check_end(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)

    @model_validator(mode="after")
    def _check_order(self) -> Observation:
        if self.end is not None and self.end < self.start:
            raise ValueError("the end time is before the start time")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("the value is not a finite number")
        return self


class EventKind(StrEnum):
    MEAL = "meal"
    INSULIN = "insulin"
    WORKOUT = "workout"
    PURCHASE = "purchase"
    TRANSACTION = "transaction"  # any money movement on an account (transfer, fee, trade)
    CONTENT_VIEWED = "content_viewed"
    LESSON_ATTEMPTED = "lesson_attempted"
    JOURNAL_NOTE = "journal_note"
    SYMPTOM = "symptom"
    MEDICATION = "medication"
    CONDITION = "condition"  # a diagnosis or problem from a medical record
    IMMUNIZATION = "immunization"
    ALLERGY = "allergy"
    ENCOUNTER = "encounter"  # a visit
    PROCEDURE = "procedure"
    MENSTRUATION = "menstruation"  # the first day of a period (cycle tracking)


class Event(BaseModel):
    """Something that happened: a meal, a dose, a workout, a purchase, a lesson.

    ``details`` holds the kind's own fields with units in their names
    (``carbs_g``, ``insulin_u``, ``distance_m``, ``amount``, ``currency``).
    """

    model_config = ConfigDict(frozen=True)

    person: str | None = None
    kind: EventKind
    start: datetime
    end: datetime | None = None
    title: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    source: str = "unknown"
    device: str | None = None
    provenance: Provenance = Field(default_factory=Provenance)

    _check_start = field_validator("start")(_aware)

    @field_validator("end")
    @classmethod
    def _check_end(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)


class Problem(BaseModel):
    """A record a connector could not turn into data, said as data, not raised."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None = None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


class Quarantined(BaseModel):
    """An observation kept aside because it failed validation, with the reason."""

    model_config = ConfigDict(frozen=True)

    observation: Observation
    reason: str


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC.

    >>> from datetime import UTC
    >>> to_epoch_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000
    """
    return round(moment.timestamp() * 1000)


def offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)
