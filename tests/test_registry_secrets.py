"""A presigned URL goes through every registry write, and its secrets end up nowhere in the database.

The check does not trust the schema: it reflects *every* table the database holds (including
Alembic's), reads every column of every row as text, and on SQLite also greps the raw bytes of the
database file and its write-ahead log, where a value could linger after an update.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ddas.identity import Validators, normalize_url
from ddas.registry import Registry, lease_key, new_holder

SECRETS = ["SECRETVALUE", "AKIAIOSFODNN7EXAMPLE", "TOKENVALUE", "PASSWORDVALUE", "SASSIGVALUE"]
PRESIGNED = (
    "https://scientist:PASSWORDVALUE@bucket.s3.eu-west-1.amazonaws.com/era5/2020.nc"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Feu-west-1%2Fs3%2Faws4_request"
    "&X-Amz-Signature=SECRETVALUE&token=TOKENVALUE&versionId=3"
)
MIRROR = "https://acct.blob.core.windows.net/c/era5.nc?sv=2022-11-02&sig=SASSIGVALUE&se=2030-01-01"


def every_value(registry: Registry) -> list[str]:
    """Every value of every column of every row of every table, as text."""
    values: list[str] = []
    with registry.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        assert {"contents", "digests", "sources", "copies", "events", "leases"} <= set(tables)
        assert "alembic_version" in tables
        for name in tables:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(table)):
                values.extend(str(v) for v in row)
    return values


def use_every_write_path(registry: Registry) -> None:
    validators = Validators(etag='"e1"', last_modified="Mon", size=10, checksum="md5:00ff")
    copy = registry.record_download(
        url=PRESIGNED,
        validators=validators,
        blake3="ab" * 32,
        size=10,
        location="/store/ab/era5.nc",
        digests={"md5": "00ff" * 8},
    )
    registry.add_source(
        copy.content_id, PRESIGNED.replace("versionId=3", "versionId=4"), validators
    )
    registry.add_source(copy.content_id, MIRROR, validators)
    nurl = normalize_url(PRESIGNED)
    holder = new_holder()
    registry.acquire_lease(lease_key(nurl.url), holder, ttl=60, total_bytes=10)
    registry.heartbeat(lease_key(nurl.url), holder, progress_bytes=5)
    registry.record_event("reuse", content_id=copy.content_id, nbytes=10, detail={"url": nurl.url})
    registry.record_event("scan", detail={"url": normalize_url(MIRROR).url})
    assert registry.copies_for_url(PRESIGNED) == registry.copies_for_url(MIRROR) == [copy]


def test_signing_parameters_never_reach_any_table(registry: Registry) -> None:
    use_every_write_path(registry)

    values = every_value(registry)
    text = "\n".join(values)
    assert "bucket.s3.eu-west-1.amazonaws.com/era5/2020.nc?versionId=3" in text, "URL kept"
    assert "acct.blob.core.windows.net/c/era5.nc" in text
    for secret in SECRETS:
        assert secret not in text, f"{secret} stored in the registry"
    assert "scientist" not in text, "userinfo dropped entirely"


def test_signing_parameters_never_reach_the_sqlite_files(tmp_path: Path) -> None:
    """PostgreSQL's files belong to the server; the table dump above covers it. SQLite's are ours."""
    db = tmp_path / "registry.db"
    registry = Registry(f"sqlite:///{db}")
    use_every_write_path(registry)
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    raw = {p.name: p.read_bytes() for p in files}
    assert {db.name, db.name + "-wal"} <= set(raw), "the WAL is where fresh writes live"
    assert b"bucket.s3.eu-west-1.amazonaws.com" in b"".join(raw.values()), "grep sees text"
    for name, data in raw.items():
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} in {name}"
            assert secret.encode("utf-16-le") not in data, f"{secret} (UTF-16) in {name}"
