"""The vocabulary entries of the finance pack (units, plausible ranges, and
their HealthKit, Health Connect, Open mHealth and LOINC names)."""

from __future__ import annotations

from lifetwin.core.vocabulary import Kind, Metric

_I = Kind.INSTANT

METRICS: tuple[Metric, ...] = (
    Metric(
        "transaction_amount",
        "Transaction amount (negative is money out)",
        "finance",
        _I,
        "currency",
        -1e9,
        1e9,
    ),
    Metric("account_balance", "Account balance", "finance", _I, "currency", -1e10, 1e10),
)
