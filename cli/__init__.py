"""The thin command-line edge of the results ledger (typer)."""
