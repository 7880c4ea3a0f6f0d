"""`python -m banbucheng` runs `bbc` (the same as the installed command)."""

from banbucheng.cli import run

run()
