"""Exceptions raised inside LifeTwin.

Every exception carries one sentence a person can act on; adapters print
``str(error)`` and never a traceback.
"""

from __future__ import annotations


class LifeTwinError(Exception):
    """Base class: the message is one clear sentence meant for the user."""


class UnknownMetricError(LifeTwinError):
    """A metric code that is not in the vocabulary."""


class UnitError(LifeTwinError):
    """A unit that is unknown or cannot be converted to the metric's unit."""


class StoreError(LifeTwinError):
    """The store is missing, of another version, or cannot be opened."""


class MasterKeyError(LifeTwinError):
    """The master key is missing, unreadable or does not open this store."""


class WrongPassphraseError(MasterKeyError):
    """The passphrase does not open this store."""


class PersonError(LifeTwinError):
    """A person that does not exist, or a name that is already taken."""


class ImportFailedError(LifeTwinError):
    """A file that cannot be imported at all (unknown layout, unreadable)."""


class MappingError(LifeTwinError):
    """A column mapping that does not fit the file it is applied to."""


class NotEnoughDataError(LifeTwinError):
    """A capability has too little data it may use (the service answers 404)."""
