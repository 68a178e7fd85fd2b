"""Files only their owner can read: every file LifeTwin writes is 0600, every folder 0700.

Files are created with the right mode from their first byte (``os.open`` with the mode,
never a chmod afterwards), and files or folders found looser are tightened and
reported, so a local user who can list the home cannot read a store, a key, an upload,
an export or a login file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def tighten(path: Path) -> bool:
    """Take group and other permissions away from an existing file or folder; True when it
    had any (the caller says so)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & 0o077:
        path.chmod(current & 0o700)
        return True
    return False


def private_dir(path: Path) -> bool:
    """Create a folder (and its parents) 0700, or tighten it; True when it was loose."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return tighten(path)


def private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if it is missing, else tighten it; True when an
    existing file was loose."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return tighten(path)
    os.close(fd)
    return False


def open_private(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> object:
    """Open a file for writing that is 0600 from its first byte (truncating it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    tighten(path)  # it may have existed with a looser mode
    if "b" in mode:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding=encoding)


def write_private(path: Path, data: str | bytes) -> None:
    """Write a whole file that is 0600 from its first byte."""
    if isinstance(data, str):
        with open_private(path) as handle:  # type: ignore[attr-defined]
            handle.write(data)
    else:
        with open_private(path, "wb", None) as handle:  # type: ignore[attr-defined]
            handle.write(data)
