"""A PII scrubber for free text (journal notes, workout notes) leaving a vault.

Recognizers are regular expressions, confirmed by checksums where the format has
one (Luhn for card numbers, ISO 7064 mod 97 for IBANs); no model is downloaded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check.

    >>> luhn_ok("4111111111111111")
    True
    """
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """Whether an IBAN passes the ISO 7064 mod 97 check.

    >>> iban_ok("DE89 3704 0044 0532 0130 00")
    True
    """
    compact = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass(frozen=True)
class Recognizer:
    label: str
    pattern: re.Pattern[str]
    confirm: Callable[[str], bool] = lambda _match: True


RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer(
        "EMAIL", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    ),
    Recognizer("URL", re.compile(r"\bhttps?://[^\s<>\"]+|\bwww\.[^\s<>\"]+", re.I)),
    Recognizer(
        "IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok
    ),
    Recognizer(
        "CARD",
        re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
        lambda m: 13 <= len(_digits(m)) <= 19 and luhn_ok(_digits(m)),
    ),
    Recognizer("SSN", re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")),
    Recognizer(
        "IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
    ),
    Recognizer(
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?"
            r"\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)"
        ),
        lambda m: 7 <= len(_digits(m)) <= 15,
    ),
)


@dataclass
class Scrubbed:
    text: str
    found: Counter[str] = field(default_factory=Counter)


def scrub(text: str) -> Scrubbed:
    """Replace each recognized identifier with its label in brackets.

    >>> scrub("Call me at +49 30 1234567 or mail ada@example.org").text
    'Call me at [PHONE] or mail [EMAIL]'
    """
    found: Counter[str] = Counter()
    for recognizer in RECOGNIZERS:

        def replace(match: re.Match[str], r: Recognizer = recognizer) -> str:
            if not r.confirm(match.group(0)):
                return match.group(0)
            found[r.label] += 1
            return f"[{r.label}]"

        text = recognizer.pattern.sub(replace, text)
    return Scrubbed(text, found)
