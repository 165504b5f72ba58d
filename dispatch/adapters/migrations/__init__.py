"""The schema's Alembic revisions (env.py, versions/); dispatch/adapters/schema_migrations.py
runs them."""
