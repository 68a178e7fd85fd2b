"""Envelope encryption: a master key wraps one data key per person.

* The master key (key-encryption key) comes from a key file or from a
  passphrase through Argon2id; it never encrypts personal data itself.
* Each person's random 256-bit data key is wrapped with AES key wrap (RFC 3394)
  and stored beside the person; destroying that wrapped key makes the person's
  data undecryptable (crypto-shredding).
* Data is sealed with AES-256-GCM under a key derived from the data key, with
  associated data that binds each ciphertext to its place (person, stream,
  day), so blocks cannot be swapped between people or days unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from lifetwin.core.errors import MasterKeyError, StoreError, WrongPassphraseError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_FILE_HEADER = "lifetwin-master-key-v1"
_CHECK_PLAINTEXT = b"lifetwin master key check v1"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored with the store so the key can be derived again."""

    salt: bytes
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 1

    def encode(self) -> bytes:
        head = f"argon2id:{self.time_cost}:{self.memory_kib}:{self.parallelism}:".encode()
        return head + base64.b64encode(self.salt)

    @classmethod
    def decode(cls, blob: bytes) -> KdfParams:
        name, time_cost, memory, parallelism, salt = blob.decode().split(":")
        if name != "argon2id":
            raise StoreError(f"The store uses an unknown key derivation '{name}'.")
        return cls(base64.b64decode(salt), int(time_cost), int(memory), int(parallelism))


class MasterKey:
    """The key-encryption key of a store."""

    def __init__(self, key: bytes, origin: str) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"The master key from {origin} is not {KEY_BYTES} bytes long.")
        self._key = key
        self.origin = origin

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES), "a new random key")

    @classmethod
    def from_passphrase(cls, passphrase: str, params: KdfParams) -> MasterKey:
        if not passphrase:
            raise MasterKeyError("The passphrase is empty.")
        key = hash_secret_raw(
            passphrase.encode("utf-8"),
            params.salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=KEY_BYTES,
            type=Type.ID,
        )
        return cls(key, "the passphrase")

    @classmethod
    def read_file(cls, path: Path) -> MasterKey:
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise MasterKeyError(
                f"The master key file {path} does not exist; put your backup of it back "
                "there, or point --home (or LIFETWIN_HOME) at the folder that holds the "
                "store and its key."
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MasterKeyError(f"The master key file {path} cannot be read ({exc}).") from None
        header, _, body = text.partition(":")
        try:
            key = base64.b64decode(body, validate=True)
        except ValueError:
            key = b""
        if header != _KEY_FILE_HEADER or len(key) != KEY_BYTES:
            raise MasterKeyError(f"The file {path} is not a LifeTwin master key file.")
        return cls(key, str(path))

    def write_file(self, path: Path) -> None:
        """Write the key to a new file only its owner can read."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, stat.S_IRUSR | stat.S_IWUSR)
        except FileExistsError:
            raise MasterKeyError(
                f"The key file {path} already exists; not overwriting it."
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{_KEY_FILE_HEADER}:{base64.b64encode(self._key).decode()}\n")

    def wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self._key, data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._key, wrapped)
        except InvalidUnwrap:
            raise MasterKeyError(
                f"The master key from {self.origin} does not open this store."
            ) from None

    def check_value(self) -> bytes:
        """A sealed constant that proves later that a key is this one."""
        return Sealer(self._key).seal(_CHECK_PLAINTEXT, b"key-check")

    def verify(self, check_value: bytes, passphrase: bool) -> None:
        try:
            ok = Sealer(self._key).open(check_value, b"key-check") == _CHECK_PLAINTEXT
        except InvalidTag:
            ok = False
        if not ok:
            if passphrase:
                raise WrongPassphraseError("The passphrase is wrong for this store.")
            raise MasterKeyError(f"The master key from {self.origin} does not open this store.")


class Sealer:
    """AES-256-GCM with a random nonce per message: nonce | ciphertext | tag."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


class PersonKeys:
    """The keys derived from one person's data key."""

    def __init__(self, data_key: bytes) -> None:
        self._sealer = Sealer(_derive(data_key, b"lifetwin/v1/seal"))
        self._mac_key = _derive(data_key, b"lifetwin/v1/mac")

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        return self._sealer.seal(plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return self._sealer.open(blob, aad)
        except InvalidTag:
            raise StoreError(
                "A stored block failed its integrity check: the store was altered or damaged."
            ) from None

    def tag(self, data: bytes) -> bytes:
        """A keyed 16-byte fingerprint: equal inputs match, nothing is revealed."""
        return hmac.new(self._mac_key, data, hashlib.sha256).digest()[:16]


def keyed_tag(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()[:16]
