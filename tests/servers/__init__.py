"""Local servers speaking each provider's wire protocol, with fault injection and effect counters."""
