"""The web service. For now: a health endpoint and a start page; the REST API and
the dashboard grow here (see docs/architecture.md)."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from lifetwin import __version__
from lifetwin.services.overview import summarize
from lifetwin.store.vault import Store


def create_app(store: Store) -> FastAPI:
    app = FastAPI(title="LifeTwin", version=__version__)

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__, "backend": store.backend.name}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        rows = []
        for person in store.persons():
            streams = summarize(store.vault(person))
            total = sum(s.count for s in streams)
            rows.append(
                f"<li><strong>{html.escape(person.name)}</strong>: {len(streams)} streams, "
                f"{total:,} values</li>"
            )
        people = "".join(rows) or "<li>No persons yet: run <code>lifetwin demo</code>.</li>"
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LifeTwin</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a}}code{{background:#f2f2f2;padding:0 .2rem}}</style></head>
<body><main><h1>LifeTwin</h1>
<p>The service is running on the encrypted store. The dashboard is being built;
until then, use the command line (<code>lifetwin show NAME</code>).</p>
<h2>Persons</h2><ul>{people}</ul></main></body></html>"""

    return app
