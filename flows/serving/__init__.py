"""The Prefect deployments of the flows, serving them (``python -m flows.serving.serve``) and healing."""
