"""Connectors: one module per backend, each implementing ``connectors.base.Connector``."""
