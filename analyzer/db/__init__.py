"""The analyzer database: one SQLite file, reached through sqlite-utils.

All SQL lives in this package, one module per table (documents and their pages, passages,
embeddings, criteria sets, runs, candidates, decisions, users and settings, seasons); the
schema changes only through the numbered migrations in ``migrations``. Everything else
calls these functions, so the faces stay thin and a query is written once.
"""
