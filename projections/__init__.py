"""The read side of the results ledger: pure folds from events to standings, and queries.

For notebooks and scripts, ``projections.api`` is the place to start (docs/python-api.md).
"""
