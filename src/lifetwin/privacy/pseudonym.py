"""Pseudonymous ids per recipient: two recipients cannot join their data on an id."""

from __future__ import annotations

import hmac
from hashlib import sha256


def pseudonym(key: bytes, person_id: str, recipient: str) -> str:
    """A stable id for ``person_id`` as seen by ``recipient`` (keyed HMAC-SHA256).

    The same person gets the same pseudonym every time for one recipient, and
    unrelated-looking pseudonyms for different recipients; without the key nobody
    can link them or recover the person id.

    >>> key = bytes(32)
    >>> pseudonym(key, "p-1", "clinic") == pseudonym(key, "p-1", "clinic")
    True
    >>> pseudonym(key, "p-1", "clinic") == pseudonym(key, "p-1", "coach")
    False
    """
    message = b"lifetwin-pseudonym|" + recipient.encode() + b"|" + person_id.encode()
    return "ps-" + hmac.new(key, message, sha256).hexdigest()[:20]
