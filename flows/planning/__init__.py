"""Planning: the ``schedule-campaign`` flow, approval, and rendering ahead."""
