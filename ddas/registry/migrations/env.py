"""Alembic environment: always run on the connection DDAS hands over (see ``engine.ensure_schema``)."""

from alembic import context

from ddas.registry.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running the alembic CLI by hand
    raise RuntimeError("run migrations through ddas.registry (Registry(url)), not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
