"""``python -m cli``: the same as the ``practiceweek`` command."""

from .entry import main

main()
