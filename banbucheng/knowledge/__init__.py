"""What the window learns from its cases: mechanisms (长效机制) and reply templates
(答复口径), similar-case lookup over the index, repeat counts.

May import domain/, store.py, schema/, deadlines and core/.
"""
