"""The read side of the results ledger: pure folds from events to standings, and queries."""
