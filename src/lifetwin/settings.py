"""Settings, read in one place: ``LIFETWIN_*`` environment variables or keyword arguments.

Every tunable of the service and the command line lives here (pydantic-settings), so
one worker, N workers or N machines are configured the same way; ``lifetwin serve``
options only override these. Lists (``trusted_proxies``, ``allow_networks``) are
comma-separated in the environment: ``LIFETWIN_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Networks = Annotated[list[str], NoDecode]


def _networks(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValueError(f"'{text}' is not an address or a network (use 10.0.0.0/8)") from None
    return out


class Settings(BaseSettings):
    """What a running LifeTwin is configured with (defaults are safe on one laptop)."""

    model_config = SettingsConfigDict(env_prefix="LIFETWIN_", extra="ignore")

    home: Path | None = Field(default=None, description="The store's home folder.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="Service processes.")
    # Request bodies
    max_body_bytes: int = 8 * 1024 * 1024  # JSON and NDJSON bodies
    max_upload_bytes: int = 512 * 1024 * 1024  # export files
    max_batch: int = 500_000  # observations per ingest request
    # Sign-in: a sliding window per name and address, one per address, and a back-off per
    # account after a few attempts (each attempt is charged before it is checked).
    login_attempts: int = 5
    login_window_s: float = 300.0
    login_per_address: int = 30
    account_free_attempts: int = 5
    account_backoff_s: float = 2.0  # doubles with every attempt past the free ones ...
    account_backoff_max_s: float = 900.0  # ... up to this
    password_hashers: int = 2  # sign-ins checked at once (Argon2 is slow on purpose)
    ingest_requests: int = 120
    ingest_window_s: float = 60.0
    # Whose X-Forwarded-For is believed (none by default: the peer's address counts).
    trusted_proxies: Networks = Field(default_factory=list)
    # Private ranges that webhooks and `lifetwin pull` may reach (none by default).
    allow_networks: Networks = Field(default_factory=list)
    # Background work
    analyze_after_ingest: bool = True
    job_threads: int = Field(default=2, ge=0, le=32, description="Job runners per process.")
    job_lease_s: float = 120.0
    job_attempts: int = 3
    webhook_attempts: int = 4
    webhook_backoff_s: float = 1.0
    webhook_timeout_s: float = 5.0
    sse_max_s: float = 3600.0  # one event stream is closed after this (clients reconnect)
    cache_check_s: float = 0.5  # how often a worker looks for changes made elsewhere
    upload_dir: Path | None = None
    log_level: str = "INFO"

    @field_validator("trusted_proxies", "allow_networks", mode="before")
    @classmethod
    def _split(cls, value: Any) -> list[str]:
        return _networks(value)

    def networks(self, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in getattr(self, name)]
