"""Trust in the record: verifying the hash chain (integrity), online backup and
restore, importing spreadsheets through the lifecycle, and `bbc doctor`.

May import services/, reports/, knowledge/, domain/, store.py, schema/, deadlines and
core/; never commands/ or cli.py.
"""
