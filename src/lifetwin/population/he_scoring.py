"""Encrypted scoring (TenSEAL CKKS): a third party scores features it cannot read.

The person keeps the secret key. They send the scorer a *public* context
(``PersonKeys.public_context()``: public, relinearisation and Galois keys, no
secret key) and their encrypted features; the scorer evaluates a linear risk
model on the ciphertext (``score_encrypted``) and returns an encrypted logit;
only the person decrypts it and applies the sigmoid (``PersonKeys.risk``).

The scorer refuses a context that can decrypt: ``is_private()`` is the check,
not the size (a context *with* the secret key can serialize smaller than a
public one with Galois keys).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import tenseal as ts
from pydantic import BaseModel

from lifetwin.population.errors import PopulationError
from lifetwin.population.features import read_daily, sleep_examples
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

POLY_MODULUS = 8192
COEFF_BITS = (60, 40, 40, 60)
SCALE_BITS = 40


class PrivateContextError(PopulationError):
    """A context that holds a secret key was offered to a third party."""


class PersonKeys:
    """The person's CKKS keys; only this object can decrypt."""

    def __init__(self) -> None:
        ctx = ts.context(
            ts.SCHEME_TYPE.CKKS,
            poly_modulus_degree=POLY_MODULUS,
            coeff_mod_bit_sizes=list(COEFF_BITS),
        )
        ctx.global_scale = 2**SCALE_BITS
        ctx.generate_galois_keys()  # the scorer's dot product rotates the ciphertext
        self._ctx = ctx

    def public_context(self) -> bytes:
        """What the scorer gets: public, relinearisation and Galois keys, no secret key."""
        public = self._ctx.copy()
        public.make_context_public()
        if public.is_private():
            raise PrivateContextError("The context to share still holds the secret key.")
        blob: bytes = public.serialize(
            save_public_key=True, save_secret_key=False, save_galois_keys=True, save_relin_keys=True
        )
        return blob

    def encrypt(self, features: Sequence[float]) -> bytes:
        blob: bytes = ts.ckks_vector(self._ctx, [float(f) for f in features]).serialize()
        return blob

    def logit(self, encrypted_logit: bytes) -> float:
        return float(ts.ckks_vector_from(self._ctx, encrypted_logit).decrypt()[0])

    def risk(self, encrypted_logit: bytes) -> float:
        """Decrypt the logit and apply the sigmoid, on the person's side."""
        z = max(-30.0, min(30.0, self.logit(encrypted_logit)))
        return 1.0 / (1.0 + math.exp(-z))


def score_encrypted(
    public_context: bytes, encrypted_features: bytes, weights: Sequence[float], bias: float
) -> bytes:
    """The third party's step: ``w·x + b`` on ciphertext; refuses a private context."""
    ctx = ts.context_from(public_context)
    if ctx.is_private():
        raise PrivateContextError(
            "This context can decrypt (it holds the secret key), so it was refused: send the "
            "public context only."
        )
    vector = ts.ckks_vector_from(ctx, encrypted_features)
    if vector.size() != len(weights):
        raise PopulationError(
            f"The model has {len(weights)} weights but {vector.size()} features were sent."
        )
    out = vector.dot([float(w) for w in weights]) + float(bias)
    blob: bytes = out.serialize()
    return blob


class EncryptedScore(BaseModel):
    """The person's view of one encrypted scoring (what left, how big, how long)."""

    scorer: str
    risk: float
    logit: float
    plain_logit: float  # computed on the person's side, to report the error
    abs_error: float
    scorer_ms: float
    round_trip_ms: float
    public_context_bytes: int
    ciphertext_bytes: int
    logit_bytes: int
    context_is_private: bool


def encrypted_sleep_risk(
    vault: Vault, scorer: str, weights: Sequence[float], bias: float, keys: PersonKeys | None = None
) -> EncryptedScore:
    """Score the person's latest day with the scorer's model without showing it the data.

    The features are read with purpose ``sharing`` for the scorer as recipient
    (they leave the vault, encrypted), so the person's sharing grant applies.
    """
    x, _ = sleep_examples(read_daily(vault, scorer, purpose=Purpose.SHARING))
    if not len(x):
        raise PopulationError(
            f"There is no recent day that sharing with {scorer} may use, so nothing was scored."
        )
    features = x[-1]
    keys = keys or PersonKeys()
    start = time.perf_counter()
    context = keys.public_context()
    cipher = keys.encrypt(features)
    scored_at = time.perf_counter()
    logit_blob = score_encrypted(context, cipher, weights, bias)
    scorer_ms = (time.perf_counter() - scored_at) * 1000
    logit = keys.logit(logit_blob)
    plain = float(np.dot(features, weights) + bias)
    vault.log_event("share", Purpose.SHARING.value, recipient=scorer, what="encrypted features")
    return EncryptedScore(
        scorer=scorer,
        risk=keys.risk(logit_blob),
        logit=logit,
        plain_logit=plain,
        abs_error=abs(logit - plain),
        scorer_ms=scorer_ms,
        round_trip_ms=(time.perf_counter() - start) * 1000,
        public_context_bytes=len(context),
        ciphertext_bytes=len(cipher),
        logit_bytes=len(logit_blob),
        context_is_private=ts.context_from(context).is_private(),
    )
