"""Money: OFX/QFX (1.x SGML and 2.x XML, via ofxtools) and bank CSVs of common layouts.

Every transaction becomes a ``transaction`` event (amount in its own currency, negative
is money out; payee, memo, type, and the source's transaction id); Amazon orders are
``purchase`` events. Rows without an id (most CSVs) get one from their date, amount,
payee and how many identical rows came before in the file, so two real coffees of the
same price on one day stay two, and re-importing the file adds nothing. Account numbers are
never stored whole: only their last four characters. ofxtools is strict about the OFX
specification; files real banks write often break it (an over-long bank id, say), so
those are read by a lenient tag scanner instead, and the summary says so.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lifetwin.core.errors import ImportFailedError
from lifetwin.core.model import Event, EventKind, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions, Skipped
from lifetwin.sources.cgm import local_zone
from lifetwin.sources.safeio import refuse_entities
from lifetwin.sources.textio import read_bytes, read_text


def _last4(account: str | None) -> str | None:
    return f"…{account[-4:]}" if account else None


def _transaction(
    when: datetime,
    amount: float,
    currency: str,
    source: str,
    record: str | None,
    file: str,
    line: int | None,
    details: dict[str, Any],
    title: str | None,
    kind: EventKind = EventKind.TRANSACTION,
    seen: dict[str, int] | None = None,
) -> Iterator[Item]:
    if record is None and seen is not None:
        base = f"{when.date().isoformat()}|{amount:.2f}|{title or ''}"
        seen[base] = seen.get(base, 0) + 1
        record = f"{base}|{seen[base]}"
    yield Event(
        kind=kind,
        start=when,
        title=title,
        details={"amount": amount, "currency": currency, **details},
        source=source,
        provenance=Provenance(file=file, line=line, record=record),
    )


class OfxConnector:
    name = "ofx"
    priority = 110  # detection order: lower is tried first
    description = "OFX/QFX bank, card and investment statements (1.x SGML and 2.x XML)"

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in (".ofx", ".qfx") or b"OFXHEADER" in head or b"<OFX>" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        raw = read_bytes(path)
        if isinstance(raw, Problem):
            yield raw
            return
        refuse_entities(raw[:65536], path.name)
        source = options.source or "bank"
        from ofxtools.Parser import OFXTree

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = OFXTree()
                tree.parse(str(path))
                statements = list(tree.convert().statements)
        except Exception as exc:  # ofxtools' spec errors: fall back to the lenient scanner
            yield Skipped(
                what="strict OFX parsing",
                count=1,
                reason=f"the file breaks the OFX specification ({str(exc)[:80]}); read leniently",
            )
            yield from _lenient_ofx(raw.decode("latin-1"), path.name, source)
            return
        if not statements:
            yield Skipped(
                what="OFX without statements",
                count=1,
                reason="it holds no bank, card or investment statement",
            )
        for statement in statements:
            currency = str(getattr(statement, "curdef", None) or "USD")
            account = getattr(statement, "account", None)
            label = _last4(getattr(account, "acctid", None))
            for tx in getattr(statement, "transactions", None) or []:
                yield from _ofxtools_tx(tx, currency, label, source, path.name)


def _ofxtools_tx(
    tx: Any, currency: str, account: str | None, source: str, file: str
) -> Iterator[Item]:
    if hasattr(tx, "trnamt"):
        details = {"type": tx.trntype, "payee": tx.name, "memo": tx.memo, "account": account}
        yield from _transaction(
            tx.dtposted,
            float(tx.trnamt),
            str((getattr(tx, "currency", None) and tx.currency.cursym) or currency),
            source,
            tx.fitid,
            file,
            None,
            {k: v for k, v in details.items() if v},
            tx.name or tx.memo,
        )
        return
    inner = next((getattr(tx, a) for a in ("invbuy", "invsell") if hasattr(tx, a)), None)
    invtran = getattr(inner, "invtran", None) or getattr(tx, "invtran", None)
    if invtran is None or getattr(inner or tx, "total", None) is None:
        return
    holder = inner or tx
    details = {
        "type": type(tx).__name__.lower(),
        "memo": getattr(invtran, "memo", None),
        "security": getattr(getattr(holder, "secid", None), "uniqueid", None),
        "units": float(holder.units) if getattr(holder, "units", None) else None,
        "unit_price": float(holder.unitprice) if getattr(holder, "unitprice", None) else None,
        "account": account,
    }
    yield from _transaction(
        invtran.dttrade,
        float(holder.total),
        currency,
        source,
        invtran.fitid,
        file,
        None,
        {k: v for k, v in details.items() if v is not None},
        getattr(invtran, "memo", None) or details["type"],
    )


_TAG = re.compile(r"<(\w+(?:\.\w+)?)>([^<\r\n]*)")


def _ofx_time(text: str) -> datetime:
    match = re.match(r"(\d{8})(\d{6})?(?:\.\d+)?(?:\[([+-]?\d+(?:\.\d+)?)(?::\w+)?\])?", text)
    if not match:
        raise ValueError(f"'{text}' is not an OFX time")
    day, clock, offset = match.groups()
    moment = datetime.strptime(day + (clock or "000000"), "%Y%m%d%H%M%S")
    zone = timezone(timedelta(hours=float(offset))) if offset else UTC
    return moment.replace(tzinfo=zone)


def _lenient_ofx(text: str, file: str, source: str) -> Iterator[Item]:
    found_currency = re.search(r"<CURDEF>\s*(\w{3})", text)
    currency = found_currency.group(1) if found_currency else "USD"
    account = re.search(r"<ACCTID>\s*([^<\r\n]+)", text)
    label = _last4(account.group(1).strip() if account else None)
    found = 0
    for block in re.finditer(
        r"<STMTTRN>(.*?)(?:</STMTTRN>|(?=<STMTTRN>)|</BANKTRANLIST>)", text, re.S
    ):
        found += 1
        fields = {k.upper(): v.strip() for k, v in _TAG.findall(block.group(1))}
        line = text.count("\n", 0, block.start()) + 1
        try:
            when = _ofx_time(fields["DTPOSTED"])
            amount = float(Decimal(fields["TRNAMT"].replace(",", ".")))
        except (KeyError, ValueError, InvalidOperation) as exc:
            yield Problem(file=file, line=line, reason=f"a transaction cannot be read ({exc})")
            continue
        details = {
            "type": fields.get("TRNTYPE"),
            "payee": fields.get("NAME"),
            "memo": fields.get("MEMO"),
            "account": label,
        }
        yield from _transaction(
            when,
            amount,
            currency,
            source,
            fields.get("FITID"),
            file,
            line,
            {k: v for k, v in details.items() if v},
            fields.get("NAME") or fields.get("MEMO"),
        )


# -- bank CSVs -------------------------------------------------------------------
def _money(text: str) -> float:
    cleaned = text.strip().replace("$", "").replace("€", "").replace("£", "")
    if not cleaned:
        return 0.0
    if re.fullmatch(r"-?[\d.]+,\d{2}", cleaned):  # 1.234,56
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return float(Decimal(cleaned.replace(",", "")))


def _date(text: str, zone: tzinfo) -> datetime:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date")


# layout name -> (columns that identify it, how to read a row)
LAYOUTS: dict[str, set[str]] = {
    "mint": {"Date", "Description", "Original Description", "Amount", "Transaction Type"},
    "capital_one": {"Transaction Date", "Posted Date", "Card No.", "Debit", "Credit"},
    "schwab": {"Date", "Status", "Type", "Withdrawal", "Deposit", "RunningBalance"},
    "n26": {"Booking Date", "Partner Name", "Amount (EUR)"},
    "amazon_orders": {"order id", "items", "date", "total"},
}


def _layout(header: list[str]) -> str | None:
    names = {h.strip() for h in header}
    for layout, needed in LAYOUTS.items():
        if needed <= names:
            return layout
    return None


class BankCsvConnector:
    name = "bank_csv"
    priority = 120  # detection order: lower is tried first
    description = "Bank CSVs: Mint, Capital One, Schwab, N26, Amazon order history"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        first = head.decode("utf-8-sig", "replace").replace("\r", "\n").split("\n", 1)[0]
        cells = next(csv.reader([first]), [])
        return _layout(cells) is not None

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        zone = local_zone(options)
        text = read_text(path, options.encoding)
        if isinstance(text, Problem):
            yield text
            return
        rows = list(csv.reader(text.replace("\r\n", "\n").replace("\r", "\n").splitlines()))
        if not rows:
            return
        layout = _layout(rows[0])
        if layout is None:
            raise ImportFailedError(f"{path.name} is not a bank CSV layout LifeTwin knows.")
        col = {h.strip(): i for i, h in enumerate(rows[0])}
        source = options.source or layout.replace("_", " ").title()
        seen: dict[str, int] = {}
        pending = 0
        for line, cells in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < len(col):
                yield Problem(file=path.name, line=line, reason="the row is truncated")
                continue

            def get(name: str, row: list[str] = cells) -> str:
                return row[col[name]].strip()

            if [c.strip() for c in cells] == [c.strip() for c in rows[0]]:
                continue  # the header again: two exports joined into one file
            if layout == "amazon_orders" and (get("date").lower() == "pending" or not get("total")):
                pending += 1
                continue
            try:
                yield from _bank_row(layout, get, zone, source, path.name, line, seen)
            except (ValueError, InvalidOperation, KeyError) as exc:
                yield Problem(file=path.name, line=line, reason=f"the row cannot be read ({exc})")
        if pending:
            yield Skipped(
                what="pending or cancelled Amazon orders",
                count=pending,
                reason="they have no date or no total",
            )


def _bank_row(
    layout: str, get: Any, zone: tzinfo, source: str, file: str, line: int, seen: dict[str, int]
) -> Iterator[Item]:
    if layout == "mint":
        sign = -1.0 if get("Transaction Type") == "debit" else 1.0
        yield from _transaction(
            _date(get("Date"), zone),
            sign * _money(get("Amount")),
            "USD",
            source,
            None,
            file,
            line,
            {
                "category": get("Category"),
                "account": get("Account Name"),
                "type": get("Transaction Type"),
            },
            get("Description"),
            seen=seen,
        )
    elif layout == "capital_one":
        amount = _money(get("Credit")) - _money(get("Debit"))
        yield from _transaction(
            _date(get("Transaction Date"), zone),
            amount,
            "USD",
            source,
            None,
            file,
            line,
            {"category": get("Category"), "account": _last4(get("Card No."))},
            get("Description"),
            seen=seen,
        )
    elif layout == "schwab":
        amount = _money(get("Deposit")) - _money(get("Withdrawal"))
        yield from _transaction(
            _date(get("Date"), zone),
            amount,
            "USD",
            source,
            get("CheckNumber") or None,
            file,
            line,
            {"type": get("Type"), "status": get("Status")},
            get("Description"),
            seen=seen,
        )
    elif layout == "n26":
        yield from _transaction(
            _date(get("Booking Date"), zone),
            _money(get("Amount (EUR)")),
            "EUR",
            source,
            None,
            file,
            line,
            {"type": get("Type"), "payee": get("Partner Name")},
            get("Partner Name"),
            seen=seen,
        )
    elif layout == "amazon_orders":
        total = _money(get("total"))
        yield from _transaction(
            _date(get("date"), zone),
            -total,
            "USD",
            source,
            get("order id"),
            file,
            line,
            {"items": get("items").rstrip("; "), "tax": _money(get("tax"))},
            "Amazon order",
            kind=EventKind.PURCHASE,
            seen=seen,
        )
