"""Catalogs: what a provider offers, and the built-in wellbeing nudges and learning steps.

A provider (a shop, a media service, a coach, a course, or LifeTwin itself) offers a
catalog of items with features. The twin ranks the catalog **on the person's side**:
the provider hands over its catalog and never receives the twin; what goes back is only
what the person chooses to share (see ``capability.provider_view``).

Every item says which of the person's goals it serves (:data:`GOALS`): an item that
serves none of the goals the person declared is never recommended (the guardrails
enforce it). A price is the provider's list price, the same for everyone; there is no
field for a personal price and the ranking never changes one.

Files are JSON (``{"provider": ..., "items": [...]}`` or a bare list of items) or CSV
with the columns ``id,title,kind,goals`` and optionally ``tags, price, currency,
promotional, description, url`` and numeric ``feature_<name>`` columns; several goals
or tags are separated by ``;``. A file that does not fit raises :class:`CatalogError`
with one sentence naming the item and the field.

:func:`item_matrix` turns items into fixed-width vectors (:data:`ITEM_DIM`) by one-hot
goals and kinds and by hashing tags and numeric features, so one personal policy serves
every catalog the person uses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lifetwin.core.errors import LifeTwinError

F64 = npt.NDArray[np.float64]

GOALS: dict[str, str] = {
    "move_more": "move more",
    "sleep_better": "sleep better",
    "stress_less": "feel less stressed",
    "hydrate": "drink enough water",
    "spend_less": "spend less",
    "learn": "keep learning",
    "glucose_in_range": "keep glucose in range",
}
KINDS: tuple[str, ...] = ("nudge", "exercise", "review", "product", "content", "activity")
TAG_BUCKETS = 4
NUMERIC_BUCKETS = 4
# bias, goals, kinds, hashed tags, hashed numeric features, promotional
ITEM_DIM = 1 + len(GOALS) + len(KINDS) + TAG_BUCKETS + NUMERIC_BUCKETS + 1
MAX_ITEMS = 200_000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class CatalogError(LifeTwinError):
    """A catalog file or item that cannot be used as it is."""


class Outcome(BaseModel):
    """How to tell, from the twin's own data, whether a nudge was followed.

    After the recommendation is shown, the metric's total over ``window_h`` hours is
    compared with the same span just before: a change in ``direction`` counts as done.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    window_h: float = Field(gt=0, le=48)
    direction: Literal["up", "down"] = "up"


class CatalogItem(BaseModel):
    """One thing a provider offers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=300)
    kind: Literal["nudge", "exercise", "review", "product", "content", "activity"] = "content"
    goals: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    url: str | None = None
    price: float | None = Field(default=None, ge=0)  # the list price, the same for everyone
    currency: str | None = None
    promotional: bool = False  # the provider's promotion, not a nudge for the person
    features: dict[str, float] = Field(default_factory=dict)
    outcome: Outcome | None = None
    skill: str | None = None  # learning steps: the skill practised
    difficulty: float | None = Field(default=None, ge=0, le=1)

    @field_validator("goals")
    @classmethod
    def _known_goals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for goal in value:
            if goal not in GOALS:
                raise ValueError(
                    f"'{goal}' is not a goal LifeTwin knows (goals: {', '.join(GOALS)})"
                )
        return value

    @field_validator("features")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if not _NAME.match(name):
                raise ValueError(f"'{name}' is not a feature name (lower case, digits, _)")
            if not math.isfinite(number):
                raise ValueError(f"the feature '{name}' is not a finite number")
        return value

    @model_validator(mode="after")
    def _price_has_currency(self) -> CatalogItem:
        if self.price is not None and not (
            self.currency and len(self.currency) == 3 and self.currency.isalpha()
        ):
            raise ValueError("a price needs a three-letter currency (EUR, USD)")
        return self


class Catalog(BaseModel):
    """A provider's items, ids unique."""

    model_config = ConfigDict(frozen=True)

    provider: str = Field(min_length=1, max_length=200)
    items: tuple[CatalogItem, ...]

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        if not self.items:
            raise ValueError("the catalog has no items")
        if len(self.items) > MAX_ITEMS:
            raise ValueError(f"the catalog has more than {MAX_ITEMS} items")
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"the item id '{item.id}' appears twice")
            seen.add(item.id)
        return self

    def item(self, item_id: str) -> CatalogItem | None:
        return next((i for i in self.items if i.id == item_id), None)


def _sentence(exc: ValidationError, where: str) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"] if p != "__root__")
    message = str(first["msg"]).removeprefix("Value error, ")
    place = f"{where}, field {field}" if field else where
    return f"{place}: {message}."


def _item(raw: dict[str, Any], where: str) -> CatalogItem:
    try:
        return CatalogItem.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(_sentence(exc, where)) from None


def catalog_from_items(provider: str, items: Iterable[dict[str, Any]]) -> Catalog:
    """Validate raw items (dicts) into a catalog, naming the first bad one in the error."""
    made = [_item(raw, f"item {i + 1} ('{raw.get('id', '?')}')") for i, raw in enumerate(items)]
    try:
        return Catalog(provider=provider, items=tuple(made))
    except ValidationError as exc:
        raise CatalogError(_sentence(exc, f"the catalog of {provider}")) from None


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _csv_items(text: str, name: str) -> list[CatalogItem]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("id", "title") if c not in header]
    if missing:
        raise CatalogError(f"{name} has no column {missing[0]} (a catalog CSV needs id and title).")
    items = []
    for line, row in enumerate(reader, start=2):
        raw: dict[str, Any] = {"id": row.get("id") or "", "title": row.get("title") or ""}
        if row.get("kind"):
            raw["kind"] = row["kind"].strip()
        for key in ("goals", "tags"):
            raw[key] = _split(row.get(key) or "")
        for key in ("description", "url", "currency", "skill"):
            if row.get(key):
                raw[key] = row[key].strip()
        where = f"{name}, line {line} ('{raw['id']}')"
        try:
            if row.get("price"):
                raw["price"] = float(row["price"])
            if row.get("difficulty"):
                raw["difficulty"] = float(row["difficulty"])
            raw["promotional"] = (row.get("promotional") or "").strip().lower() in (
                "1",
                "true",
                "yes",
            )
            raw["features"] = {
                key.removeprefix("feature_"): float(value)
                for key, value in row.items()
                if key and key.startswith("feature_") and value not in (None, "")
            }
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}.") from None
        extra = [k for k in row if k and k not in _CSV_COLUMNS and not k.startswith("feature_")]
        if extra:
            raise CatalogError(
                f"{name} has a column '{extra[0]}' LifeTwin does not read (numeric features "
                "are named feature_<name>)."
            )
        items.append(_item(raw, where))
    return items


_CSV_COLUMNS = {
    "id",
    "title",
    "kind",
    "goals",
    "tags",
    "description",
    "url",
    "price",
    "currency",
    "promotional",
    "skill",
    "difficulty",
}


def load_catalog(path: Path, provider: str | None = None) -> Catalog:
    """Read a catalog file (JSON or CSV); the provider defaults to the file's own name."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path.name} cannot be read as UTF-8 text ({exc}).") from None
    return parse_catalog(text, path.name, provider)


def parse_catalog(text: str, name: str, provider: str | None = None) -> Catalog:
    """A catalog from the text of a JSON or CSV file called ``name``."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{name} is not valid JSON ({exc.msg} at line {exc.lineno})."
            ) from None
        listed = raw.get("items") if isinstance(raw, dict) else raw
        if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
            raise CatalogError(f"{name} holds no list of items (a JSON catalog has 'items').")
        found = provider or (raw.get("provider") if isinstance(raw, dict) else None)
        return catalog_from_items(str(found or Path(name).stem), listed)
    items = _csv_items(text, name)
    try:
        return Catalog(provider=provider or Path(name).stem, items=tuple(items))
    except ValidationError as exc:
        raise CatalogError(_sentence(exc, name)) from None


# -- item vectors --------------------------------------------------------------------
def _bucket(text: str, buckets: int) -> tuple[int, float]:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % buckets, 1.0 if (value >> 32) & 1 else -1.0


_GOAL_INDEX = {g: 1 + i for i, g in enumerate(GOALS)}
_KIND_INDEX = {k: 1 + len(GOALS) + i for i, k in enumerate(KINDS)}
_TAG_START = 1 + len(GOALS) + len(KINDS)
_NUM_START = _TAG_START + TAG_BUCKETS
PROMO_INDEX = ITEM_DIM - 1


def item_vector(item: CatalogItem) -> F64:
    """One item as a fixed-width vector: bias, goals, kind, hashed tags and features.

    >>> v = item_vector(CatalogItem(id="w", title="Walk", kind="nudge", goals=("move_more",)))
    >>> float(v[0]), float(v[_GOAL_INDEX["move_more"]]), len(v) == ITEM_DIM
    (1.0, 1.0, True)
    """
    v = np.zeros(ITEM_DIM)
    v[0] = 1.0
    for goal in item.goals:
        v[_GOAL_INDEX[goal]] = 1.0 / math.sqrt(len(item.goals))
    v[_KIND_INDEX[item.kind]] = 1.0
    for tag in item.tags:
        slot, sign = _bucket("tag|" + tag.casefold(), TAG_BUCKETS)
        v[_TAG_START + slot] += sign / math.sqrt(len(item.tags))
    for name, value in item.features.items():
        slot, sign = _bucket("num|" + name, NUMERIC_BUCKETS)
        v[_NUM_START + slot] += sign * max(-3.0, min(3.0, value))
    v[PROMO_INDEX] = 1.0 if item.promotional else 0.0
    return v


def item_matrix(items: Sequence[CatalogItem]) -> F64:
    """The items' vectors, one row each."""
    if not items:
        return np.zeros((0, ITEM_DIM))
    return np.stack([item_vector(i) for i in items])


def goal_slot(goal: str) -> int:
    """Where a goal sits in an item vector (for the policy's prior)."""
    return _GOAL_INDEX[goal]


# -- built-in catalogs ---------------------------------------------------------------
def _nudge(
    item_id: str,
    title: str,
    goals: tuple[str, ...],
    description: str,
    tags: tuple[str, ...] = (),
    outcome: Outcome | None = None,
    effort: float = 0.3,
) -> CatalogItem:
    return CatalogItem(
        id=item_id,
        title=title,
        kind="nudge",
        goals=goals,
        tags=tags,
        description=description,
        outcome=outcome,
        features={"effort": effort},
    )


WELLBEING_NUDGES: tuple[CatalogItem, ...] = (
    _nudge(
        "walk-10",
        "Take a 10-minute walk",
        ("move_more", "stress_less", "glucose_in_range"),
        "A short walk now, at a pace where you can still talk.",
        ("outdoors", "walk"),
        Outcome(metric="steps", window_h=2),
    ),
    _nudge(
        "walk-after-meal",
        "Walk for 10 minutes after your next meal",
        ("glucose_in_range", "move_more"),
        "A light walk after eating blunts the rise in glucose for many people.",
        ("walk", "meal"),
        Outcome(metric="steps", window_h=3),
    ),
    _nudge(
        "stand-stretch",
        "Stand up and stretch for two minutes",
        ("move_more",),
        "A break from sitting.",
        ("indoors",),
        Outcome(metric="steps", window_h=1),
        effort=0.1,
    ),
    _nudge(
        "wind-down",
        "Start winding down 30 minutes earlier tonight",
        ("sleep_better",),
        "Dim the lights and put work away half an hour before your usual bedtime.",
        ("evening", "sleep"),
        Outcome(metric="sleep_duration", window_h=18),
    ),
    _nudge(
        "screens-off",
        "Put screens away an hour before bed",
        ("sleep_better", "stress_less"),
        "Reading or music instead of a phone in the last hour of the day.",
        ("evening", "sleep"),
        Outcome(metric="sleep_duration", window_h=18),
    ),
    _nudge(
        "no-late-caffeine",
        "Skip caffeine after 2 pm today",
        ("sleep_better",),
        "Caffeine late in the day shortens sleep for many people.",
        ("sleep", "drink"),
        Outcome(metric="caffeine", window_h=10, direction="down"),
        effort=0.2,
    ),
    _nudge(
        "hydrate",
        "Drink a glass of water",
        ("hydrate",),
        "A glass now; keep a bottle in sight.",
        ("drink",),
        Outcome(metric="water", window_h=2),
        effort=0.05,
    ),
    _nudge(
        "breathe",
        "Take a two-minute breathing break",
        ("stress_less",),
        "Five slow breaths in through the nose and a longer breath out.",
        ("calm", "indoors"),
        Outcome(metric="mindful_minutes", window_h=2),
        effort=0.05,
    ),
    _nudge(
        "mindful-5",
        "A five-minute mindfulness session",
        ("stress_less", "sleep_better"),
        "Sit, notice your breathing, let thoughts pass.",
        ("calm",),
        Outcome(metric="mindful_minutes", window_h=3),
        effort=0.2,
    ),
    _nudge(
        "plan-spending",
        "Plan this week's spending in five minutes",
        ("spend_less",),
        "List what you need this week and set an amount for the rest.",
        ("money", "planning"),
    ),
    _nudge(
        "no-spend-day",
        "Try a no-spend day today",
        ("spend_less",),
        "Nothing bought beyond what was planned.",
        ("money",),
        effort=0.5,
    ),
    _nudge(
        "review-subscriptions",
        "Review your subscriptions",
        ("spend_less",),
        "Cancel one you did not use last month.",
        ("money", "planning"),
    ),
    _nudge(
        "study-10",
        "Practise for ten minutes",
        ("learn",),
        "A short practice session on the skill you are learning.",
        ("learning",),
        Outcome(metric="study_minutes", window_h=4),
        effort=0.4,
    ),
)


def wellbeing_nudges(goals: Iterable[str] | None = None) -> Catalog:
    """The built-in nudges; with ``goals``, only those serving at least one of them."""
    wanted = set(goals) if goals is not None else set(GOALS)
    items = tuple(i for i in WELLBEING_NUDGES if wanted & set(i.goals))
    return Catalog(provider="lifetwin", items=items or WELLBEING_NUDGES)


def learning_exercises(steps: Iterable[tuple[str, str, str, float, str]]) -> list[CatalogItem]:
    """Learning steps as catalog items: (id, title, skill, difficulty, kind) each.

    The learning pack derives them from the learner twin (cards due, skills to practise);
    their difficulty is the predicted chance of failing, so the policy can learn which
    difficulty suits the person.
    """
    return [
        CatalogItem(
            id=item_id,
            title=title,
            kind="review" if kind == "review" else "exercise",
            goals=("learn",),
            tags=("learning", skill),
            skill=skill,
            difficulty=difficulty,
            features={"difficulty": difficulty},
            outcome=Outcome(metric="study_minutes", window_h=6),
        )
        for item_id, title, skill, difficulty, kind in steps
    ]


class CatalogIndex:
    """A catalog ready to rank: item vectors, goal masks and ids, computed once.

    Building it is linear in the catalog (about 20 µs an item); ranking reuses it.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.items = catalog.items
        self.matrix = item_matrix(catalog.items)
        self.position = {item.id: i for i, item in enumerate(catalog.items)}
        goal_columns = [_GOAL_INDEX[g] for g in GOALS]
        self.goal_mask = self.matrix[:, goal_columns] > 0  # items × goals
        self.promotional = self.matrix[:, PROMO_INDEX] > 0

    def __len__(self) -> int:
        return len(self.items)

    def serving(self, goals: Iterable[str]) -> npt.NDArray[np.bool_]:
        """Which items serve at least one of the goals."""
        wanted = np.array([g in set(goals) for g in GOALS])
        return np.asarray(self.goal_mask[:, wanted].any(axis=1), dtype=bool)
