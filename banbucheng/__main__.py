"""`python -m banbucheng` runs `bbc` (the same as the installed command).

With _BBC_COMPLETE set it answers one TAB instead, importing only the standard library
(window/completion.py): the scripts `bbc completion install` writes call it so.
"""

import os
import sys


def _command_tree() -> dict:
    """The full command line, loaded only when the completion cache is out of date."""
    import typer.main

    from banbucheng.cli import app
    from banbucheng.commands.shell import command_tree

    return command_tree(typer.main.get_command(app))


if os.environ.get("_BBC_COMPLETE"):
    from banbucheng.window.completion import main

    sys.exit(main(_command_tree))
else:
    from banbucheng.cli import run

    run()
