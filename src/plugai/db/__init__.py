"""Registry database: tables, the async engine and Alembic migrations."""
