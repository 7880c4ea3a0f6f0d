"""`python -m banbucheng` runs `bbc` (the same as the installed command)."""

from .cli import run

run()
