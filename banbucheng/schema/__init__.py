"""The stored record: the tables (models), the hash chain every event is sealed into
(chain), the canonical form of the calendar and policy changes recorded as store-level
events (history), the similar-case index (index), the citizens' keyed hashes and the repeats
they reveal (citizens), the values no command can read, found after one failed on them
(readable), and the migrations that bring an older store up to date.

May import core/ and deadlines; used by store.py and everything above it.
"""
