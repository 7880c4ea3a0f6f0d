"""The `bbc` commands, one module per area; cli.py registers them. Each command
parses its options, makes one call into the layers below and prints the outcome.
common.py holds what the commands share (options, the session, messages).

May import everything below it; no module here imports banbucheng.cli.
"""
