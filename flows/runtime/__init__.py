"""The runtime every role stands on: this process's ledger, connectors and pacers (``process``,
``ratelimit``), the campaign files it has loaded (``campaigns``), the embedded local Prefect server
(``embedded``), and the small shared helpers: names of deployments and runs, the run logger, events."""
