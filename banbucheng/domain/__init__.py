"""The rules of a case: the lifecycle (which action is allowed in which state, and
the event it records), deadlines applied to cases, the unit directory, the center's
calendar and policy changes (calendar, config; recorded as store-level events by
changes) and the deadlines they recompute (recompute), read-side queries and the case
views (the JSON contract), and the batch (batch) in which `bbc import` keeps the
lifecycle's new cases and events to write them in bulk.

May import store.py, schema/, deadlines and core/. The lifecycle imports neither the
indexes nor the hash chain: the store seals every event, and services/ keeps the
indexes as cases are registered and closed.
"""
