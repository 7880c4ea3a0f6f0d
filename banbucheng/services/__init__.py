"""Services: one function per action that needs more than the lifecycle alone.

services/cases.py registers and closes cases together with the indexes, the
citizens' keys and the knowledge parts. May import knowledge/, domain/, store,
schema/, core/ and deadlines; imported by commands/, trust/ and window/.
"""
