"""The plan as the ledger and Prefect hold it, below both planning and publishing: applying a planned
week to the ledger and re-planning an edited file (``apply``, no approval), the window runs that carry
the plan out (``windows``) and their timing (``timing``)."""
