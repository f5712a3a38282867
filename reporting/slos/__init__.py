"""Service level objectives and error budgets (docs/slos.md)."""
