"""Services: one function per action that needs more than the lifecycle alone.

services/cases.py registers and closes cases together with the indexes, the
citizens' keys and the knowledge parts; services/bulk.py does the same for a batch of
cases written at once (`bbc import`), with the same rules. May import knowledge/, domain/, store,
schema/, core/ and deadlines; imported by commands/, trust/ and window/.
"""
