"""Pseudonyms, release rules (k-anonymity), the PII scrubber and TOTP."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.privacy.mfa import MfaError, TotpGuard
from lifetwin.privacy.pseudonym import pseudonym
from lifetwin.privacy.release import (
    ReleaseRefusedError,
    age_band,
    birth_year,
    coarse_location,
    release,
    smallest_group,
)
from lifetwin.privacy.scrub import iban_ok, luhn_ok, scrub


@given(
    st.binary(min_size=32, max_size=32),
    st.text(min_size=1),
    st.text(min_size=1),
    st.text(min_size=1),
)
def test_pseudonyms_differ_per_recipient_and_are_stable(
    key: bytes, person: str, a: str, b: str
) -> None:
    assert pseudonym(key, person, a) == pseudonym(key, person, a)
    if a != b:
        assert pseudonym(key, person, a) != pseudonym(key, person, b)


ROWS = [
    {
        "birth": date(1980 + i % 3, 1 + i % 12, 1 + i % 28),
        "city": (52.52, 13.40 + i * 0.001),
        "steps": 8000 + i,
    }
    for i in range(30)
]
RULES = {"birth": birth_year, "city": lambda p: coarse_location(*p)}


def test_a_generalized_table_that_is_k_anonymous_is_released() -> None:
    table = release(ROWS, ["birth", "city"], k=5, rules=RULES)
    assert {row["birth"] for row in table} == {1980, 1981, 1982}
    assert smallest_group(table, ["birth", "city"]) == 10
    assert table[0]["steps"] == 8000


def test_a_release_below_k_is_refused_with_the_reason() -> None:
    with pytest.raises(ReleaseRefusedError, match="has 10 row\\(s\\), fewer than k = 11"):
        release(ROWS, ["birth", "city"], k=11, rules=RULES)
    with pytest.raises(ReleaseRefusedError, match="has 1 row"):
        release(ROWS, ["birth", "city"], k=2)  # exact birth dates single people out


@given(
    st.lists(st.tuples(st.integers(18, 90), st.integers(0, 3)), min_size=1, max_size=60),
    st.integers(2, 10),
)
def test_every_released_table_is_k_anonymous(people: list[tuple[int, int]], k: int) -> None:
    rows = [{"age": age, "zone": zone} for age, zone in people]
    try:
        table = release(rows, ["age", "zone"], k=k, rules={"age": age_band})
    except ReleaseRefusedError:
        return
    assert smallest_group(table, ["age", "zone"]) >= k


def _luhn_complete(prefix: str) -> str:
    for check in string.digits:
        if luhn_ok(prefix + check):
            return prefix + check
    raise AssertionError


@given(
    st.text(alphabet=string.ascii_letters + " .,!?", max_size=40),
    st.from_regex(r"[a-z]{1,10}\.[a-z]{1,8}@[a-z]{2,10}\.(org|com|de)", fullmatch=True),
    st.from_regex(r"4[0-9]{14}", fullmatch=True),
)
def test_emails_and_card_numbers_never_leave_in_free_text(
    words: str, email: str, card_prefix: str
) -> None:
    card = _luhn_complete(card_prefix)
    out = scrub(f"{words} mail {email} card {card[:4]} {card[4:8]} {card[8:12]} {card[12:]}")
    assert email not in out.text
    assert f"{card[:4]} {card[4:8]}" not in out.text
    assert "[EMAIL]" in out.text
    assert "[CARD]" in out.text


@given(st.text(alphabet=string.ascii_letters + " .,!?'", max_size=200))
def test_text_without_identifiers_passes_unchanged(words: str) -> None:
    assert scrub(words).text == words


def test_the_scrubber_knows_common_identifiers_and_checks_checksums() -> None:
    note = (
        "Ran 5 km with Sam (sam@example.com, +49 170 1234567). Paid with "
        "4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, from 192.168.1.20, "
        "SSN 123-45-6789. Not a card: 4111 1111 1111 1112. Time 12:30, 10 reps."
    )
    out = scrub(note)
    assert out.text == (
        "Ran 5 km with Sam ([EMAIL], [PHONE]). Paid with [CARD], IBAN [IBAN], from [IP], "
        "SSN [SSN]. Not a card: 4111 1111 1111 1112. Time 12:30, 10 reps."
    )
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33")


# RFC 6238 appendix B, SHA-1, 8 digits: the key is the ASCII string "12345678901234567890".
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_totp_matches_the_rfc_6238_vectors(at: int, code: str) -> None:
    assert TotpGuard(RFC_SECRET, digits=8).verify(code, at=at) == at // 30


def test_a_totp_code_is_accepted_once() -> None:
    guard = TotpGuard(TotpGuard.new_secret())
    code = guard.code_at(1_700_000_000)
    guard.verify(code, at=1_700_000_005)
    with pytest.raises(MfaError, match="already used"):
        guard.verify(code, at=1_700_000_010)
    with pytest.raises(MfaError, match="wrong or has expired"):
        guard.verify(guard.code_at(1_700_000_000), at=1_700_000_000 + 600)
    with pytest.raises(MfaError, match="6 digits"):
        guard.verify("12ab56", at=1_700_000_000)
