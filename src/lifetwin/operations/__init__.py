"""The operations layer: every user-facing operation is one function returning a pydantic
model, called the same way by the command line (which renders it, or prints it with
``--json``), the REST API (which returns it as its ``response_model``) and the dashboard
(whose templates draw it). One operation, one place, one set of defaults.

Each operation takes a :class:`~lifetwin.operations.context.Context` — the store, the
person, who acts (as the audit chain names them) and for which purpose and recipient
they read — and nothing from the adapter that called it.
"""
