"""Money: OFX (strict and lenient) and the bank CSV layouts, from real sample files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS
MONEY = Path(__file__).parent / "fixtures" / "realdata" / "finance"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def _events(store: Store, person: Person, kind: str = "event:transaction") -> list[Event]:
    items = store.vault(person).read_records(kind, purpose=SELF)
    return [e for e in items if isinstance(e, Event)]


def test_an_ofx_statement_through_ofxtools(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MONEY / "ofxparse_bank_medium.ofx")
    assert summary.format == "ofx"
    assert summary.ok
    first = _events(store, ada)[0]
    assert first.start == datetime(2009, 4, 1, 17, 20, 17, tzinfo=UTC)
    assert first.details["amount"] == -6.6
    assert first.details["currency"] == "CAD"
    assert first.title == "MCDONALD'S #112"
    assert first.provenance.record == "0000123456782009040100001"


def test_an_ofx_file_that_breaks_the_spec_is_read_leniently(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MONEY / "ofxparse_checking.ofx")
    assert summary.problem_count == 0
    assert any("read leniently" in key for key in summary.skipped)
    events = _events(store, ada)
    assert len(events) == 3
    assert all(e.details["account"].startswith("…") for e in events)
    assert "5472369148" not in str([e.model_dump() for e in events])


def test_investment_statements(store: Store, ada: Person) -> None:
    import_file(store, ada, MONEY / "ofxparse_fidelity.ofx")
    trades = _events(store, ada)
    assert len(trades) == 17
    buy = next(e for e in trades if e.details.get("security") == "458140100")
    assert buy.details["amount"] == pytest.approx(-2571.45)
    assert buy.details["units"] == 100.0


@pytest.mark.parametrize(
    ("name", "count", "first_amount", "currency"),
    [
        ("csv2ofx_mint.csv", 4, -1000.0, "USD"),
        ("csv2ofx_capitalone.csv", 2, -1000.0, "USD"),
        ("csv2ofx_schwab-checking.csv", 4, 20.0, "USD"),
        ("csv2ofx_n26-fr.csv", 2, 328.0, "EUR"),
    ],
)
def test_bank_csv_layouts(
    store: Store, ada: Person, name: str, count: int, first_amount: float, currency: str
) -> None:
    summary = import_file(store, ada, MONEY / name, timezone="America/New_York")
    assert summary.format == "bank_csv"
    assert summary.ok, summary.problems
    events = _events(store, ada)
    assert len(events) == count
    amounts = [e.details["amount"] for e in events]
    assert first_amount in amounts
    assert {e.details["currency"] for e in events} == {currency}
    again = import_file(store, ada, MONEY / name, timezone="America/New_York")
    assert again.stored == 0


def test_amazon_orders_are_purchases_and_pending_ones_are_skipped(
    store: Store, ada: Person
) -> None:
    summary = import_file(store, ada, MONEY / "csv2ofx_amazon.csv", timezone="UTC")
    assert summary.ok
    assert summary.skipped == {
        "pending or cancelled Amazon orders (they have no date or no total)": 3
    }
    purchases = _events(store, ada, "event:purchase")
    assert len(purchases) == 3
    order = next(p for p in purchases if p.provenance.record == "112-1635210-7125801")
    assert order.details["amount"] == -4.22
    assert "Goof Off" in order.details["items"]


def test_two_identical_transactions_on_one_day_stay_two(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    path = tmp_path / "mint.csv"
    path.write_text(
        "Date,Description,Original Description,Amount,Transaction Type,Category,Account Name,"
        "Labels,Notes\n"
        "6/12/15,Cafe,CAFE,3.50,debit,Coffee,Card,,\n6/12/15,Cafe,CAFE,3.50,debit,Coffee,Card,,\n"
    )
    assert import_file(store, ada, path).stored == 2
    assert import_file(store, ada, path).stored == 0
