"""practiceweek: plan, render and publish themed Safeguarding Practice Weeks.

The core package holds the domain only (model, loading, checks, planning); it
never imports Prefect or a provider SDK.
"""

__version__ = "0.1.0"
