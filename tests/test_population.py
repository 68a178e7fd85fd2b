"""Population jobs release only generalized, k-anonymous, consented summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.privacy.release import ReleaseRefusedError
from lifetwin.services.home import init_home
from lifetwin.services.population import population_table
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store


def _store(tmp_path: Path, people: int, consenting: int) -> Store:
    store = init_home(tmp_path / "home")
    for i in range(people):
        person = store.add_person(f"Person {i}")
        vault = store.vault(person)
        n = 60
        z = np.zeros(n, dtype=np.int64)
        cols = Columns(
            1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000,
            z,
            np.full(n, 60.0 + i),
            z,
            z,
            z,
            z,
        )
        vault.write_columns("resting_heart_rate", "watch", None, "bpm", cols)
        vault.set_profile(
            birth_date=f"{1980 + i % 2}-0{1 + i % 9}-1{i % 9}", sex="f", postcode=f"101{i:02d}"
        )
        if i < consenting:
            vault.grant(Scope.parse("metric:resting_heart_rate"), Purpose.RESEARCH)
    return store


def test_only_consenting_people_appear_generalized(tmp_path: Path) -> None:
    store = _store(tmp_path, people=12, consenting=10)
    table = population_table(store, "resting_heart_rate", k=5)
    assert len(table) == 10
    assert {row["birth_year"] for row in table} == {1980, 1981}
    assert {row["region"] for row in table} == {"10***"}
    assert all(row["person"].startswith("ps-") for row in table)
    assert sorted(row["mean"] for row in table) == [60.0 + i for i in range(10)]


def test_a_table_that_would_single_people_out_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path, people=6, consenting=6)
    with pytest.raises(ReleaseRefusedError, match="fewer than k = 5"):
        population_table(store, "resting_heart_rate", k=5)
