"""The HTTP edge: `ledger serve`'s read-only JSON API and pages (FastAPI, no typer here)."""
