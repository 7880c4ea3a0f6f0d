"""The core: what every other part speaks, with no database and no terminal.

errors (the one error hierarchy), timeutil (Beijing time), clock (now, or BBC_NOW),
validate (parsing what users type; masking personal data), policy (the center's
rules and their defaults), labels (the words of the record: statuses, actions,
fields), notice and notice_parser (the State Council's holiday notice), bigrams
(Chinese text as search terms), sanitize (cells safe for Excel), paths.

Imports nothing of banbucheng outside core/ (import-linter checks the order inside:
clock and policy above validate above labels and the rest above timeutil and errors).
"""
