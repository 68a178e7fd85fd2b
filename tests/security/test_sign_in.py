"""Attacker: someone on the network guessing passwords (hole 2 of the attack review).

Checked against the previous release: a right password with a wrong code answered
"already used"/"wrong code" while a wrong password answered "name or password is
wrong" (an oracle); 25 concurrent wrong attempts all got 401 past a limit of 5 (the
limit was checked before and charged after); X-Forwarded-For from loopback was believed
by uvicorn, so rotating it never hit the limit; there was no per-account limit; and
Argon2 ran holding the store lock, so a login flood stalled unrelated reads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from conftest import PASSWORD, Served, ServiceWorld, totp_code
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.home import init_home

LOGIN = "/api/v1/session"


def _try(client: Any, name: str, password: str, code: str) -> Any:
    return client.post(LOGIN, json={"name": name, "password": password, "code": code})


def test_a_right_password_with_a_wrong_code_answers_like_a_wrong_password(
    world: ServiceWorld,
) -> None:
    world.add_person("Ana", "ana")
    wrong_password = _try(world.new_client(), "ana", "not the password", "123456")
    wrong_code = _try(world.new_client(), "ana", PASSWORD, "000000")
    no_account = _try(world.new_client(), "nobody", PASSWORD, "000000")
    answers = {
        (r.status_code, r.json()["detail"]) for r in (wrong_password, wrong_code, no_account)
    }
    assert answers == {(401, "The name, password or code is wrong.")}
    code = totp_code(world.store, "ana")
    assert _try(world.new_client(), "ana", PASSWORD, code).status_code == 200
    replay = _try(world.new_client(), "ana", PASSWORD, code)
    assert (replay.status_code, replay.json()["detail"]) == (
        401,
        "The name, password or code is wrong.",
    )


def test_concurrent_attempts_cannot_pass_the_limit(world: ServiceWorld) -> None:
    world.add_person("Ana", "ana")
    limit = world.settings.login_attempts

    def attempt(_: int) -> int:
        return int(_try(world.new_client(), "ana", "wrong password!", "123456").status_code)

    with ThreadPoolExecutor(25) as pool:
        statuses = list(pool.map(attempt, range(25)))
    assert statuses.count(401) <= limit
    assert statuses.count(429) >= 25 - limit


def test_attempts_on_one_account_back_off_whatever_the_address(world: ServiceWorld) -> None:
    world.add_person("Ana", "ana")
    free = world.settings.account_free_attempts
    statuses = []
    for n in range(free + 2):
        client = TestClient(world.app, base_url="https://testserver", client=(f"10.0.0.{n}", 4000))
        statuses.append(_try(client, "ana", "wrong password!", "123456").status_code)
    assert statuses[:free] == [401] * free
    assert 429 in statuses[free:]  # a new address does not reset the account's back-off
    right = TestClient(world.app, base_url="https://testserver", client=("10.0.1.1", 4000))
    blocked = _try(right, "ana", PASSWORD, totp_code(world.store, "ana"))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1


def _home_with_account(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    store = init_home(home)
    person = store.add_person("Ana")
    Accounts(store).create("ana", PASSWORD, Role.PERSON, person.id)
    token = (
        Accounts(store).issue_token(Accounts(store).get("ana"), person.id, ["self_access"]).secret
    )
    store.close()
    return home, token


def test_x_forwarded_for_is_not_believed_unless_configured(tmp_path: Path, serve: Any) -> None:
    home, _token = _home_with_account(tmp_path)
    served: Served = serve(home)
    statuses = []
    for n in range(8):
        forged = {"X-Forwarded-For": f"203.0.113.{n}"}
        answer = httpx.post(
            served.url + LOGIN,
            json={"name": "ana", "password": "wrong password!", "code": "123456"},
            headers=forged,
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3


def test_hashing_passwords_does_not_hold_up_other_requests(tmp_path: Path, serve: Any) -> None:
    home, token = _home_with_account(tmp_path)
    served: Served = serve(
        home,
        {
            "LIFETWIN_LOGIN_PER_ADDRESS": "1000",
            "LIFETWIN_LOGIN_ATTEMPTS": "1000",
            "LIFETWIN_ACCOUNT_FREE_ATTEMPTS": "1000",
        },
    )
    person = httpx.get(served.url + "/api/v1/persons", headers={"Authorization": f"Bearer {token}"})
    pid = person.json()["items"][0]["id"]
    finished: list[str] = []
    lock = threading.Lock()

    def login(n: int) -> None:
        httpx.post(
            served.url + LOGIN,
            json={"name": f"user{n % 7}", "password": "wrong password!", "code": "123456"},
            timeout=120,
        )
        with lock:
            finished.append("login")

    threads = [threading.Thread(target=login, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # the flood is under way (each login costs an Argon2 hash)
    read = httpx.get(
        f"{served.url}/api/v1/persons/{pid}/streams",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    with lock:
        finished.append("read")
    for thread in threads:
        thread.join()
    assert read.status_code == 200
    # The read was answered while sign-ins were still being checked, not after them.
    assert finished.index("read") < len(threads) // 2
