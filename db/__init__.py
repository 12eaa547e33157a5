"""Persistence: SQLAlchemy 2 tables, the imperative mapping of domain classes, Alembic migrations."""
