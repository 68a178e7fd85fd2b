"""Open sets of names that read like an enum: consent purposes, which packs may extend.

A :class:`RegisteredName` subclass holds its members as interned ``str`` instances, so
``Purpose.SELF_ACCESS``, ``Purpose("self_access")``, ``for p in Purpose``, ``p.value``
and ``p is Purpose.SELF_ACCESS`` all work as with an ``enum.StrEnum`` — but a pack can
add members at run time (``define``), and a name nobody defined is refused with one
sentence. Pydantic validates and documents them (the JSON schema lists the members).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


class _NamesMeta(type):
    def __iter__(cls) -> Iterator[Any]:
        cls._load()  # type: ignore[attr-defined]
        return iter(list(cls._members.values()))  # type: ignore[attr-defined]

    def __len__(cls) -> int:
        cls._load()  # type: ignore[attr-defined]
        return len(cls._members)  # type: ignore[attr-defined]

    def __contains__(cls, value: object) -> bool:
        cls._load()  # type: ignore[attr-defined]
        return str(value) in cls._members  # type: ignore[attr-defined]


class RegisteredName(str, metaclass=_NamesMeta):
    _members: ClassVar[dict[str, Any]]
    _kind: ClassVar[str] = "name"
    _loader: ClassVar[Callable[[], None] | None] = None
    _loaded: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._members = {}

    def __new__(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        key = str(value)
        found = cls._members.get(key)
        if found is None:
            cls._load()
            found = cls._members.get(key)
        if found is None:
            names = ", ".join(cls._members)
            raise ValueError(f"'{value}' is not a {cls._kind} (known: {names})")
        return found  # type: ignore[no-any-return]

    @classmethod
    def define(cls, name: str) -> Self:
        """Add a member (a pack's purpose, say); the same object when it exists."""
        found = cls._members.get(name)
        if found is None:
            found = str.__new__(cls, name)
            cls._members[name] = found
        return found

    @classmethod
    def _load(cls) -> None:
        if not cls._loaded and cls._loader is not None:
            cls._loaded = True
            cls._loader()

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return str.__str__(self).upper()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.value!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.value,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["enum"] = [m.value for m in cls]
        found["title"] = cls.__name__
        return found
