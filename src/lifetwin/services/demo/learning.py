"""The demo person's learning: an Anki deck of flashcards and an exercise log.

Flashcards (Spanish vocabulary and grammar, statistics) are reviewed most evenings under
Anki's classic scheduler (SM-2: learning steps of 1 and 10 minutes, intervals grown by
the card's ease, a lapse back to one day); whether a card is remembered follows a
forgetting curve on a stability of its own that grows with each successful review. The
history is written as a minimal Anki collection (the ``notes``, ``cards``, ``col`` and
``revlog`` tables the Anki connector reads) and read back by that connector, so the
demo's review events are exactly what an imported collection gives. Exercises (Spanish
listening, probability, and SQL window functions taken up in the last week) follow
Bayesian knowledge tracing's own model of learning (a skill is learned with some chance
after each attempt; answers slip and are guessed) and are written as the exercise-log
CSV the other connector reads.
"""

from __future__ import annotations

import csv
import heapq
import json
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from lifetwin.core.model import Event
from lifetwin.packs.learning.sources import AnkiConnector, ExerciseLogConnector
from lifetwin.sources.base import ReadOptions

DAY_MS = 86_400_000
ANKI_SOURCE = "anki"
EXERCISE_SOURCE = "exercise_log"

SPANISH_WORDS = (
    "la casa|the house", "el perro|the dog", "el gato|the cat", "el libro|the book",
    "la mesa|the table", "la silla|the chair", "el agua|the water", "el pan|the bread",
    "la leche|the milk", "el queso|the cheese", "la manzana|the apple", "el tren|the train",
    "la calle|the street", "la ciudad|the city", "el trabajo|the work", "la semana|the week",
    "el mes|the month", "el año|the year", "hoy|today", "mañana|tomorrow", "ayer|yesterday",
    "siempre|always", "nunca|never", "a veces|sometimes", "correr|to run", "nadar|to swim",
    "dormir|to sleep", "comer|to eat", "beber|to drink", "hablar|to speak", "escribir|to write",
    "leer|to read", "aprender|to learn", "enseñar|to teach", "comprar|to buy", "vender|to sell",
    "abrir|to open", "cerrar|to close", "empezar|to begin", "terminar|to finish",
    "el médico|the doctor", "la farmacia|the pharmacy", "el azúcar|the sugar",
    "la sangre|the blood", "el corazón|the heart", "la pierna|the leg", "el brazo|the arm",
    "la cabeza|the head", "cansado|tired", "contento|happy", "triste|sad", "rápido|fast",
    "lento|slow", "fuerte|strong", "débil|weak", "caro|expensive", "barato|cheap",
    "la cuenta|the bill", "el dinero|the money", "la tienda|the shop", "el mercado|the market",
    "la bicicleta|the bicycle", "el río|the river", "el puente|the bridge",
    "el parque|the park", "la playa|the beach", "la montaña|the mountain",
    "el tiempo|the weather; time", "la lluvia|the rain", "el sol|the sun",
    "el viento|the wind", "la nieve|the snow", "temprano|early", "tarde|late; afternoon",
    "la cena|dinner", "el desayuno|breakfast", "el almuerzo|lunch", "la cocina|the kitchen",
    "el dormitorio|the bedroom", "la ventana|the window", "la puerta|the door",
    "el vecino|the neighbour", "la amiga|the friend", "la familia|the family",
    "el hermano|the brother", "la hermana|the sister", "despacio|slowly", "pronto|soon",
    "todavía|still", "ya|already",
)  # fmt: skip
SPANISH_GRAMMAR = (
    "ser vs estar: location of an event|ser (la fiesta es en casa)",
    "estar: location of a thing|estar (el libro está en la mesa)",
    "preterite of ir, yo|fui", "preterite of hacer, yo|hice", "preterite of tener, yo|tuve",
    "imperfect of ser, yo|era", "imperfect of ir, nosotros|íbamos",
    "present subjunctive of tener, yo|tenga", "present subjunctive of ir, yo|vaya",
    "por or para: 'for you' (a gift)|para", "por or para: 'through the park'|por",
    "direct object pronoun: 'I see it' (el libro)|lo veo",
    "indirect object pronoun: 'I give him'|le doy", "se lo: 'I give it to him'|se lo doy",
    "gustar: 'I like running'|me gusta correr", "future of poder, yo|podré",
    "conditional of querer, yo|querría", "gerund of dormir|durmiendo",
    "past participle of escribir|escrito", "past participle of volver|vuelto",
    "imperative of venir, tú|ven", "imperative of decir, tú|di",
    "hace + time: 'two years ago'|hace dos años", "acabar de: 'I have just eaten'|acabo de comer",
)  # fmt: skip
STATISTICS = (
    "Standard error of a mean|s / √n", "Variance of a sum of independent X, Y|Var X + Var Y",
    "Bayes' theorem|P(A|B) = P(B|A) P(A) / P(B)", "Odds from a probability p|p / (1 − p)",
    "95 % normal quantile|1.96", "Expected value of a Bernoulli(p)|p",
    "Variance of a Bernoulli(p)|p(1 − p)", "Poisson mean and variance|both λ",
    "Exponential distribution mean|1 / λ", "Correlation from covariance|cov / (σx σy)",
    "Coefficient of determination in simple regression|r²",
    "Type I error|rejecting a true null hypothesis",
    "Type II error|keeping a false null hypothesis", "Power|1 − β",
    "p-value|P(data at least this extreme | H0)", "Law of large numbers|sample mean → μ",
    "Central limit theorem|sums are about normal for large n",
    "Median absolute deviation|median |x − median|", "Log-odds link|logit",
    "Likelihood ratio test statistic|−2 log Λ ~ χ²", "Benjamini–Hochberg controls|the FDR",
    "Bootstrap|resample the data with replacement", "Sensitivity|TP / (TP + FN)",
    "Specificity|TN / (TN + FP)", "Positive predictive value|TP / (TP + FP)",
    "AUC|P(score of a positive > score of a negative)",
    "Brier score|mean squared error of probabilities",
    "Autocorrelation at lag k|corr(x_t, x_{t−k})",
)  # fmt: skip
# deck name, cards, new cards a day, how hard the deck is (0 easy .. 1 hard)
DECKS: tuple[tuple[str, tuple[str, ...], int, float], ...] = (
    ("Spanish::Vocabulary", SPANISH_WORDS, 4, 0.3),
    ("Spanish::Grammar", SPANISH_GRAMMAR, 1, 0.7),
    ("Statistics", STATISTICS, 2, 0.5),
)
# skill, first day (from the end: None for the start), chance of knowing it at first, of
# learning it per attempt, slip, guess
SKILLS: tuple[tuple[str, int | None, float, float, float, float], ...] = (
    ("Spanish listening", None, 0.15, 0.05, 0.10, 0.25),
    ("Probability", None, 0.05, 0.03, 0.08, 0.20),
    ("SQL window functions", 7, 0.0, 0.05, 0.06, 0.20),
)


Row = tuple[int, int, int, int, int, int, int, int]  # a revlog row, in the column order below


@dataclass
class _Card:
    id: int
    note: int
    deck: int
    stability_days: float  # the truth the simulation draws recall from
    ivl: int = 0  # Anki's interval: days (positive) or seconds (negative)
    ease: float = 2.5
    due_ms: int = 0
    last_ms: int = 0
    step: int = 0  # learning step reached (0: 1 minute, 1: 10 minutes)
    state: str = "new"  # new, learning, review, relearning


@dataclass
class _Log:
    rows: list[Row] = field(default_factory=list)
    clock_ms: int = 0

    def review(
        self, rng: np.random.Generator, card: _Card, ease: int, ivl: int, last: int, kind: int
    ) -> None:
        taken = int(rng.integers(2500, 14000))
        self.clock_ms += taken
        factor = 0 if kind == 0 else round(card.ease * 1000)
        self.rows.append((self.clock_ms, card.id, ease, ivl, last, factor, taken, kind))
        card.last_ms = self.clock_ms


def _recalled(rng: np.random.Generator, card: _Card, now_ms: int) -> bool:
    elapsed = max(now_ms - card.last_ms, 0) / DAY_MS
    return bool(rng.random() < 0.9 ** (elapsed / card.stability_days))


def _answer_review(rng: np.random.Generator, card: _Card, log: _Log) -> None:
    """A card that is due: remembered (hard, good or easy) or lapsed."""
    last = card.ivl
    if _recalled(rng, card, log.clock_ms):
        ease = int(rng.choice([2, 3, 4], p=[0.15, 0.75, 0.10]))
        if ease == 2:
            card.ivl = max(card.ivl + 1, round(card.ivl * 1.2))
            card.ease = max(1.3, card.ease - 0.15)
            card.stability_days *= float(rng.uniform(1.5, 2.0))
        elif ease == 3:
            card.ivl = max(card.ivl + 1, round(card.ivl * card.ease))
            card.stability_days *= float(rng.uniform(2.4, 3.4))
        else:
            card.ivl = max(card.ivl + 1, round(card.ivl * card.ease * 1.3))
            card.ease += 0.15
            card.stability_days *= float(rng.uniform(3.2, 4.2))
        log.review(rng, card, ease, card.ivl, last, 1)
        card.due_ms = card.last_ms + card.ivl * DAY_MS
        return
    card.ease = max(1.3, card.ease - 0.2)
    card.stability_days = max(0.3, card.stability_days * 0.35)
    card.ivl = 1
    card.state = "relearning"
    log.review(rng, card, 1, -600, last, 1)
    card.due_ms = card.last_ms + 600_000


def _answer_step(rng: np.random.Generator, card: _Card, log: _Log) -> None:
    """A new card or a lapsed one on its learning steps (1 and 10 minutes)."""
    kind = 0 if card.state in ("new", "learning") else 2
    last = 0 if card.state == "new" else -600 if kind == 2 or card.step == 1 else -60
    known = rng.random() < (0.65 if card.step == 0 and card.state == "new" else 0.85)
    if not known:
        card.step = 0
        card.state = "learning" if kind == 0 else "relearning"
        log.review(rng, card, 1, -60, last, kind)
        card.due_ms = card.last_ms + 60_000
        return
    if card.step == 0 and kind == 0:
        card.step, card.state = 1, "learning"
        log.review(rng, card, 3, -600, last, kind)
        card.due_ms = card.last_ms + 600_000
        return
    card.state, card.step = "review", 0
    card.ivl = 4 if kind == 0 and rng.random() < 0.05 else 1
    log.review(rng, card, 3, card.ivl, last, kind)
    card.due_ms = card.last_ms + card.ivl * DAY_MS


def review_log(
    rng: np.random.Generator, start_ms: int, end_ms: int, zone: ZoneInfo
) -> tuple[list[_Card], list[Row]]:
    """Simulate the evening review sessions from ``start_ms`` to ``end_ms``: the cards and
    the review log rows (id, card, ease, ivl, lastIvl, factor, time, type) as Anki keeps them.
    """
    cards: list[_Card] = []
    waiting: list[list[_Card]] = []
    created = start_ms - 21 * DAY_MS  # the notes were added before the history begins
    for d, (_name, items, _per_day, hardness) in enumerate(DECKS):
        deck_cards = []
        for i in range(len(items)):
            note = created + (d * 1000 + i) * 1000
            s0 = float(np.exp(rng.normal(0.9 - 1.2 * hardness, 0.5)))
            deck_cards.append(_Card(id=note + 1, note=note, deck=d + 2, stability_days=s0))
        cards += deck_cards
        waiting.append(deck_cards)
    log = _Log()
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    days = (end_ms - start_ms) // DAY_MS + 2
    for offset in range(days):
        day = first + timedelta(days=offset)
        if rng.random() < 0.12:
            continue  # a day without reviewing
        hour = 21.0 + rng.normal(0, 0.6)
        begin = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=hour)
        log.clock_ms = max(log.clock_ms, int(begin.timestamp() * 1000))
        if log.clock_ms + 3_600_000 > end_ms:
            break
        due = sorted(
            (c for c in cards if c.state == "review" and c.due_ms <= log.clock_ms),
            key=lambda c: (c.due_ms, c.id),
        )
        for card in due:
            _answer_review(rng, card, log)
        steps: list[tuple[int, int, _Card]] = [
            (c.due_ms, c.id, c) for c in cards if c.state in ("learning", "relearning")
        ]
        heapq.heapify(steps)
        for (_name, _items, per_day, _h), deck_cards in zip(DECKS, waiting, strict=True):
            for card in deck_cards[:per_day]:
                heapq.heappush(steps, (log.clock_ms, card.id, card))
            del deck_cards[:per_day]
        while steps:
            at, _cid, card = heapq.heappop(steps)
            log.clock_ms = max(log.clock_ms, at)
            _answer_step(rng, card, log)
            if card.state in ("learning", "relearning"):
                heapq.heappush(steps, (card.due_ms, card.id, card))
    return cards, [r for r in log.rows if r[0] <= end_ms]


def _write_collection(path: Path, cards: list[_Card], rows: list[Row]) -> None:
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TABLE col (id INTEGER PRIMARY KEY, decks TEXT);"
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, flds TEXT, tags TEXT);"
            "CREATE TABLE cards (id INTEGER PRIMARY KEY, nid INTEGER, did INTEGER);"
            "CREATE TABLE revlog (id INTEGER PRIMARY KEY, cid INTEGER, usn INTEGER, "
            "ease INTEGER, ivl INTEGER, lastIvl INTEGER, factor INTEGER, time INTEGER, "
            "type INTEGER);"
        )
        decks = {str(d + 2): {"name": name} for d, (name, *_rest) in enumerate(DECKS)}
        db.execute("INSERT INTO col VALUES (1, ?)", (json.dumps(decks),))
        fronts = {}
        for d, (name, items, _n, _h) in enumerate(DECKS):
            tags = " ".join(part.lower() for part in name.split("::"))
            for i, item in enumerate(items):
                fronts[(d + 2, i)] = (item.replace("|", "\x1f", 1), tags)
        by_deck: dict[int, int] = {}
        for card in cards:
            i = by_deck.get(card.deck, 0)
            by_deck[card.deck] = i + 1
            flds, tags = fronts[(card.deck, i)]
            db.execute("INSERT INTO notes VALUES (?, ?, ?)", (card.note, flds, tags))
            db.execute("INSERT INTO cards VALUES (?, ?, ?)", (card.id, card.note, card.deck))
        db.executemany(
            "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.commit()
    finally:
        db.close()


def exercise_rows(
    rng: np.random.Generator, start_ms: int, end_ms: int, zone: ZoneInfo
) -> list[tuple[str, str, int, float]]:
    """Exercise attempts (time, skill, correct, duration_s) three evenings a week; a skill
    may be taken up only in the last days. Each skill draws from its own generator, so its
    story is the same whatever day the demo is made on (which evenings there are depends on
    the day). The seeds are chosen for the story: SQL window functions, taken up last
    week, would be learned at its 33rd attempt, after the at most 27 a week holds (with
    one generator for all, whether it was learned in the demo changed from day to day)."""
    rows: list[tuple[str, str, int, float]] = []
    own = {skill: np.random.default_rng(zlib.crc32(f"v1 {skill}".encode())) for skill, *_ in SKILLS}
    known = {skill: bool(own[skill].random() < p0) for skill, _i, p0, _t, _s, _g in SKILLS}
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    for offset in range((end_ms - start_ms) // DAY_MS + 2):
        day = first + timedelta(days=offset)
        if day.weekday() not in (0, 2, 5) or rng.random() < 0.1:
            continue
        clock = datetime.combine(day, datetime.min.time(), zone) + timedelta(
            hours=19.5 + rng.normal(0, 0.4)
        )
        for skill, begins, _p0, learn, slip, guess in SKILLS:
            if begins is not None and clock.timestamp() * 1000 < end_ms - begins * DAY_MS:
                continue
            draw = own[skill]
            for _ in range(int(draw.integers(5, 10))):
                seconds = float(np.round(draw.uniform(25, 110), 1))
                clock += timedelta(seconds=seconds + 5)
                if clock.timestamp() * 1000 > end_ms:
                    return rows
                right = draw.random() < (1 - slip if known[skill] else guess)
                rows.append((clock.isoformat(timespec="seconds"), skill, int(right), seconds))
                if not known[skill] and draw.random() < learn:
                    known[skill] = True
    return rows


def learning_history(
    rng: np.random.Generator, start_ms: int, end_ms: int, zone: ZoneInfo
) -> list[Event]:
    """Review and exercise events, read from an Anki collection and an exercise log by the
    learning pack's connectors, exactly as an import of those files stores them."""
    cards, rows = review_log(rng, start_ms, end_ms, zone)
    attempts = exercise_rows(rng, start_ms, end_ms, zone)
    events: list[Event] = []
    with tempfile.TemporaryDirectory(prefix="lifetwin-demo-") as scratch:
        collection = Path(scratch) / "collection.anki2"
        _write_collection(collection, cards, rows)
        exercises = Path(scratch) / "exercises.csv"
        with exercises.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["time", "skill", "correct", "duration_s"])
            writer.writerows(attempts)
        for connector, path, source in (
            (AnkiConnector(), collection, ANKI_SOURCE),
            (ExerciseLogConnector(), exercises, EXERCISE_SOURCE),
        ):
            options = ReadOptions(source=source, timezone=zone.key)
            events += [item for item in connector.read(path, options) if isinstance(item, Event)]
    return events
