"""TOTP (RFC 6238) second factor with replay protection: each code works once.

The service keeps, per account, the last time step a code was accepted for;
a code of that step or an earlier one is refused even if it is still valid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyotp

from lifetwin.core.errors import LifeTwinError


class MfaError(LifeTwinError):
    """A second-factor code that is wrong, expired or already used."""


@dataclass
class TotpGuard:
    secret: str  # base32
    last_step: int = -1  # the time step of the last accepted code; persist it
    digits: int = 6
    interval: int = 30
    window: int = 1  # steps of clock drift accepted either side

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32()

    def _totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret, digits=self.digits, interval=self.interval)

    def provisioning_uri(self, account: str, issuer: str = "LifeTwin") -> str:
        uri: str = self._totp().provisioning_uri(name=account, issuer_name=issuer)
        return uri

    def code_at(self, at: float) -> str:
        code: str = self._totp().at(int(at))
        return code

    def verify(self, code: str, at: float | None = None) -> int:
        """Accept ``code`` once; return its time step, or raise MfaError."""
        now = time.time() if at is None else at
        code = code.strip().replace(" ", "")
        if not code.isdigit() or len(code) != self.digits:
            raise MfaError(f"The code must be {self.digits} digits.")
        step_now = int(now // self.interval)
        for step in range(step_now - self.window, step_now + self.window + 1):
            if self._totp().at(step * self.interval) == code:
                if step <= self.last_step:
                    raise MfaError("This code was already used; wait for the next one.")
                self.last_step = step
                return step
        raise MfaError("The code is wrong or has expired.")
