"""What the clerk at the window sees and hands out: the home screen, guided entry,
the printed work order and notice (DOCX), the demo, shell completion and the
terminal views of mechanisms and similar cases.

May import services/, reports/, knowledge/, domain/, store.py, schema/, deadlines and
core/; never commands/ or cli.py. completion.py imports only the standard library,
so TAB stays fast.
"""
