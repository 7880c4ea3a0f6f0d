"""Reports: the figures the center is judged by, and every report and list laid out
for people in every format (terminal, JSON, CSV, Markdown, XLSX).

A report is built in two steps. A builder counts in SQL and returns plain data, the
JSON contract (`daily.daily_rollup`, `period.period_stats`, `supervision.supervision`,
`analysis.analyse`); a layout turns that data into a `document.Document` (key figures,
tables, charts), which a writer (`exports.render`) or the terminal (`render.document`)
shows. The commands (commands/) wire the two together.

Modules, lowest first
---------------------
document     the document model (Document, Section, Column, Chart), the text of a
             cell, rows grouped by unit, charts drawn as text
workbook     the XLSX writer (openpyxl's write-only mode, a row at a time)
exports      the writers: JSON, CSV, Markdown, and XLSX through workbook; report
             files written atomically
render       the terminal (rich): case tables and details, registers, any Document
timeline     the cases' state as of a cutoff, rebuilt in SQL from their events; the
             cutoff helpers and the look-ups every report shares
period       期间统计: counts, rates, score and ranking per unit (formulas: its docstring)
daily        每日汇总: the day's figures and lists, running totals, the 30-day trend
supervision  督办 lists: overdue cases, cases due within N working days
layouts      the daily roll-up, the 督办 lists and the period statistics as Documents
paper        the daily roll-up on one A4 page as PDF (fpdf2), the Chinese font it embeds
analysis     短板 analysis, and its Document

Who may import whom
-------------------
A module imports only modules above it in that list, and only these:

    document     (nothing in reports)
    workbook     document
    exports      document, workbook
    render       document
    timeline     (nothing in reports)
    period       timeline
    daily        timeline, period
    supervision  timeline
    layouts      document, daily
    paper        document
    analysis     document

Never the other way, not even inside a function: builders know nothing of documents,
documents nothing of writers. Outside the package, reports may import core, schema,
domain, knowledge, deadlines and store, but never commands, cli, trust, window or
services: those use reports, not the other way round.

Import cost: nothing here is imported by `bbc --help`. rich is imported only by
render, openpyxl only inside workbook.to_xlsx, fpdf2 only inside paper.daily_pdf;
document, workbook, exports and paper import neither rich nor SQLAlchemy.
"""
