"""An SQLite registry's file is in the page cache once a server has warmed it.

Residency is asked of the kernel itself (``mincore`` on a mapping of the file), after the test
evicted the file's pages (``POSIX_FADV_DONTNEED``); a file system that cannot evict (tmpfs) skips.
"""

from __future__ import annotations

import ctypes
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from ddas.registry import Registry, pagecache
from tests.conftest import blank_registry, copy_migrated_template

PAGE = os.sysconf("SC_PAGE_SIZE")
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def resident(path: Path, upto: int | None = None) -> float:
    """The share of the file's first ``upto`` bytes (default all) in the page cache."""
    size = min(path.stat().st_size, upto or path.stat().st_size)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        pages = (size + PAGE - 1) // PAGE
        vec = (ctypes.c_ubyte * pages)()
        try:
            assert _libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
        finally:
            _libc.munmap(addr, size)
        return sum(v & 1 for v in vec) / pages
    finally:
        os.close(fd)


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    if resident(path) > 0.1:
        pytest.skip(f"{path.parent} keeps its pages resident (tmpfs?): nothing to warm there")


def test_prefetch_reads_the_file_into_the_page_cache_within_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(128 << 20))  # beyond any readahead window (2 x 8 MiB here)
    evict(path)

    assert pagecache.prefetch(path, limit=2 << 20) == 2 << 20
    assert resident(path, upto=2 << 20) == 1.0
    assert resident(path) < 0.5  # the rest was not read (readahead takes a little more)

    assert pagecache.prefetch(path) == 128 << 20  # default limit: a quarter of what is available
    assert resident(path) == 1.0
    assert pagecache.prefetch(tmp_path / "absent.db") == 0
    assert pagecache.prefetch(path, limit=0) == 0
    assert pagecache.prefetch(path, seconds=0) == 0  # the time bound holds too


def test_warming_an_sqlite_registry_reads_its_file(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    registry = Registry(f"sqlite:///{db}")
    with registry.engine.begin() as conn:  # some pages beyond the empty schema
        conn.exec_driver_sql("CREATE TABLE ballast (b BLOB)")
        for _ in range(16):
            conn.exec_driver_sql("INSERT INTO ballast VALUES (randomblob(262144))")
    registry.engine.dispose()
    with registry.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    evict(db)
    assert resident(db) < 0.1

    registry.warm(connections=1)

    assert db.stat().st_size > 4 << 20
    assert resident(db) == 1.0


def test_postgresql_warm_up_prewarms_the_search_relations_first_within_the_cap(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with blank_registry("postgresql", tmp_path, request) as url:
        _prewarm_checks(Registry(copy_migrated_template(url, request)))


def _prewarm_checks(registry: Registry) -> None:
    with registry.engine.connect() as conn:
        if conn.exec_driver_sql(pagecache._PG_PREWARM).scalar() is None:
            pytest.fail("migration 0009 did not create pg_prewarm (the test role is superuser)")
        read = pagecache.prewarm_postgresql(conn)
        names = [rel.rsplit(".", 1)[-1].strip('"') for rel, _ in read]
        # the search's relations that have pages (empty tables have none) come first, in order
        first = [n for n in pagecache.PG_FIRST if n in names]
        assert names[: len(first)] == first
        assert {"ix_sources_url_trgm", "ix_contents_name_trgm"} <= set(first)
        assert len(names) == len(set(names)) > len(first)  # then the schema's other relations
        conn.exec_driver_sql("SET effective_cache_size = '64kB'")  # 32 kB may be read
        small = pagecache.prewarm_postgresql(conn)
        assert sum(size for _, size in small) <= 32 << 10
        assert len(small) < len(read)
        conn.rollback()


def test_a_role_that_may_not_prewarm_still_warms_the_rest(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A role that does not own the relations (pg_prewarm wants SELECT on each, indexes
    included): nothing is read, and the connection goes on to the search's own warm-up."""
    pg_admin = request.getfixturevalue("pg_admin")
    role = f"ddas_t_{uuid.uuid4().hex[:10]}"
    with blank_registry("postgresql", tmp_path, request) as url:
        copy_migrated_template(url, request)
        schema = url.rsplit("%3D", 1)[1]
        with pg_admin.connect() as admin:
            admin.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
            admin.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        engine = sa.create_engine(url.replace("postgres@", f"{role}@", 1))
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT current_user").scalar() == role
                assert pagecache.prewarm_postgresql(conn) == []
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1  # not left aborted
        finally:
            engine.dispose()
            with pg_admin.connect() as admin:
                admin.execute(sa.text(f'DROP OWNED BY "{role}"'))
                admin.execute(sa.text(f'DROP ROLE "{role}"'))
