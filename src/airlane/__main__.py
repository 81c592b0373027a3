"""``python -m airlane``."""

from airlane.cli import main

main()
