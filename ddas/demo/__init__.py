"""The demo behind ``make lab``, Binder and the notebooks: a local data server and a seeded registry.

A newcomer should see a miss, a hit with its alert card, a duplicate and some savings in the first ten
minutes, with no internet and without touching anybody's real registry. So the demo brings its own
"remote" (:mod:`ddas.demo.server`, publishing the synthetic CSV files of :mod:`ddas.demo.catalog`
with real validators) and a short history made through the same public API a researcher uses
(:mod:`ddas.demo.session`): alice downloaded two datasets through DDAS, bob reused one of them, and
bob's own pre-DDAS copy of the other sits in a shared folder.

``python -m ddas.demo --serve --detach`` (:mod:`ddas.demo.__main__`, what ``make lab`` runs) starts
the server for the demo folder ``$DDAS_DEMO_DIR``, seeds it and records the server's URL in
``$DDAS_DEMO_DIR/server.json``; the notebooks call :func:`start`, which finds that server or, outside
the demo, starts a private one with a temporary registry. Fake users only ever land in a demo
registry. None of this is library code: nothing in :mod:`ddas` imports it.
"""

from __future__ import annotations

from ddas.demo.catalog import CATALOG, air_temperature_csv, ocean_buoys_csv, stations_csv
from ddas.demo.server import STATUS_PATH, DemoServer, publish
from ddas.demo.session import (
    DEFAULT_PORT,
    DEMO_DIR_ENV,
    DEMO_PORT_ENV,
    SERVER_FILE,
    Demo,
    as_user,
    demo_env,
    ensure_catalog,
    find_server,
    seed,
    start,
)

__all__ = [
    "CATALOG",
    "DEFAULT_PORT",
    "DEMO_DIR_ENV",
    "DEMO_PORT_ENV",
    "SERVER_FILE",
    "STATUS_PATH",
    "Demo",
    "DemoServer",
    "air_temperature_csv",
    "as_user",
    "demo_env",
    "ensure_catalog",
    "find_server",
    "ocean_buoys_csv",
    "publish",
    "seed",
    "start",
    "stations_csv",
]
