"""Where a LifeTwin store lives and how it is opened.

A *home* is a directory (``--home``, ``LIFETWIN_HOME``, or the per-user data
directory) holding ``config.json``, the master key file ``master.key`` (unless a
passphrase is used) and, for the embedded backend, ``lifetwin.db``. A team
store on PostgreSQL keeps only its connection URL in the config (or in
``LIFETWIN_STORE``) and the data on the server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from lifetwin.core.errors import MasterKeyError, StoreError
from lifetwin.core.files import private_dir, tighten, write_private
from lifetwin.store.crypto import KdfParams, MasterKey
from lifetwin.store.sql import SQLBackend as Backend
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

CONFIG_FILE = "config.json"
KEY_FILE = "master.key"
DB_FILE = "lifetwin.db"


def resolve_home(home: Path | None = None) -> Path:
    """The home directory: the argument, else $LIFETWIN_HOME, else the per-user data dir."""
    if home is not None:
        return home.expanduser()
    env = os.environ.get("LIFETWIN_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("lifetwin", appauthor=False))


@dataclass(frozen=True)
class HomeConfig:
    store: str  # "sqlite" or a postgresql:// URL
    key: str  # "file" or "passphrase"

    @classmethod
    def read(cls, home: Path) -> HomeConfig:
        path = home / CONFIG_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(store=str(raw["store"]), key=str(raw["key"]))
        except FileNotFoundError:
            raise StoreError(
                f"There is no LifeTwin store in {home}; run `lifetwin init` first."
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"The settings file {path} is damaged ({exc}).") from None

    def write(self, home: Path) -> None:
        private_dir(home)
        write_private(
            home / CONFIG_FILE, json.dumps({"store": self.store, "key": self.key}, indent=2) + "\n"
        )


def open_backend(home: Path, store: str, create: bool) -> Backend:
    url = os.environ.get("LIFETWIN_STORE") or store
    if url.startswith(("postgresql://", "postgres://")):
        from lifetwin.store.sql import PostgresBackend

        return PostgresBackend(url)
    if url != "sqlite":
        raise StoreError(f"'{url}' is not a store LifeTwin knows (use sqlite or postgresql://…).")
    return SQLiteBackend(home / DB_FILE, create=create)


def init_home(
    home: Path,
    *,
    store: str = "sqlite",
    passphrase: str | None = None,
    kdf: KdfParams | None = None,
) -> Store:
    """Create a new store in ``home``: a key file, or a passphrase-derived key."""
    if (home / CONFIG_FILE).exists():
        raise StoreError(f"{home} already holds a LifeTwin store.")
    private_dir(home)
    if passphrase is None:
        master = MasterKey.generate()
        master.write_file(home / KEY_FILE)
        params = None
    else:
        params = kdf or KdfParams(salt=os.urandom(16))
        master = MasterKey.from_passphrase(passphrase, params)
    backend = open_backend(home, store, create=True)
    try:
        opened = Store.initialize(backend, master, params)
    except BaseException:
        backend.close()
        raise
    HomeConfig(store=store, key="file" if passphrase is None else "passphrase").write(home)
    return opened


def open_home(
    home: Path,
    *,
    passphrase: str | None = None,
    key_file: Path | None = None,
    upgrade: bool = True,
) -> Store:
    """Open the store in ``home`` with its key file or the given passphrase.

    Files and folders of the home found readable by others are tightened to 0600/0700,
    and a store made by an older LifeTwin is upgraded in place (``upgrade``); both are
    said in ``Store.notes``."""
    config = HomeConfig.read(home)
    loose = [p for p in (home, home / CONFIG_FILE, home / KEY_FILE, home / "uploads") if tighten(p)]
    backend = open_backend(home, config.store, create=False)
    loose += getattr(backend, "tightened", [])
    try:
        params = Store.kdf_params(backend)
        if params is not None:
            if passphrase is None:
                raise MasterKeyError(
                    "This store is protected by a passphrase; enter it when asked or set "
                    "LIFETWIN_PASSPHRASE."
                )
            master = MasterKey.from_passphrase(passphrase, params)
        else:
            master = MasterKey.read_file(key_file or home / KEY_FILE)
        store = Store.open(backend, master, upgrade=upgrade)
    except BaseException:
        backend.close()
        raise
    if loose:
        names = ", ".join(p.name for p in loose)
        store.notes.append(
            f"Made {names} readable by you only (they were readable by others on this machine)."
        )
    return store


def needs_passphrase(home: Path) -> bool:
    try:
        return HomeConfig.read(home).key == "passphrase"
    except StoreError:
        return False


def rotate_to_key_file(home: Path, store: Store) -> None:
    """Re-wrap every key under a new random master key written to ``master.key``."""
    new = MasterKey.generate()
    pending = home / (KEY_FILE + ".new")
    pending.unlink(missing_ok=True)
    new.write_file(pending)  # on disk before the store depends on it
    store.rotate_master_key(new)
    os.replace(pending, home / KEY_FILE)
    HomeConfig(store=HomeConfig.read(home).store, key="file").write(home)


def rotate_to_passphrase(home: Path, store: Store, passphrase: str) -> None:
    """Re-wrap every key under a key derived from a new passphrase."""
    params = KdfParams(salt=os.urandom(16))
    store.rotate_master_key(MasterKey.from_passphrase(passphrase, params), kdf=params)
    HomeConfig(store=HomeConfig.read(home).store, key="passphrase").write(home)
    (home / KEY_FILE).unlink(missing_ok=True)
