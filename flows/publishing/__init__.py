"""Publishing: the window run (``publish_window``), the ``publish`` task and its steps (content, outcomes).
It never imports planning (approval, scheduling, render ahead): see tests/unit/test_flows_packages.py."""
