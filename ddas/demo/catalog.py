"""The demo's datasets: small synthetic CSV files, made the same way at every run.

They are generated rather than shipped so the repository holds no data files, and deterministic so
that a server restarted on the same folder publishes the same bytes (the seeded registry keeps
matching). :data:`CATALOG` maps each URL path to the function making its bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

_CITIES = [
    ("OSLO", 59.91, 10.75, 23),
    ("BERGEN", 60.39, 5.32, 12),
    ("TROMSO", 69.65, 18.96, 100),
    ("STOCKHOLM", 59.33, 18.07, 44),
    ("HELSINKI", 60.17, 24.94, 51),
    ("COPENHAGEN", 55.68, 12.57, 5),
    ("REYKJAVIK", 64.15, -21.94, 52),
    ("TALLINN", 59.44, 24.75, 34),
    ("RIGA", 56.95, 24.11, 26),
    ("GDANSK", 54.35, 18.65, 13),
    ("HAMBURG", 53.55, 9.99, 14),
    ("ABERDEEN", 57.15, -2.09, 65),
]


def stations_csv() -> bytes:
    """A small station list (the dataset alice downloaded and bob also keeps a copy of)."""
    rows = ["station,lat,lon,elevation_m"]
    rows += [f"{name},{lat:.2f},{lon:.2f},{elev}" for name, lat, lon, elev in _CITIES]
    return ("\n".join(rows) + "\n").encode()


def air_temperature_csv() -> bytes:
    """Daily 2 m air temperature on a coarse grid for 2020 (~0.6 MB, synthetic but plausible)."""
    rows = ["time,lat,lon,air"]
    for day in range(366):
        date = (dt.date(2020, 1, 1) + dt.timedelta(days=day)).isoformat()
        season = math.cos(2 * math.pi * (day - 15) / 366)
        for lat in (40, 45, 50, 55, 60, 65):
            for lon in range(-10, 30, 5):
                air = 288.0 - 0.6 * (lat - 40) - 9.0 * season + 0.05 * lon
                rows.append(f"{date},{lat},{lon},{air:.2f}")
    return ("\n".join(rows) + "\n").encode()


def ocean_buoys_csv() -> bytes:
    """Hourly buoy readings nobody has downloaded yet: the quickstart's first fetch is a miss."""
    rows = ["buoy,time,wave_height_m,sea_temp_c"]
    for buoy in range(4):
        for hour in range(24 * 7):
            wave = 1.5 + math.sin(hour / 7 + buoy) * 0.8
            rows.append(
                f"B{buoy + 1},2024-03-{1 + hour // 24:02d}T{hour % 24:02d}:00,"
                f"{wave:.2f},{6 + buoy + math.cos(hour / 24):.2f}"
            )
    return ("\n".join(rows) + "\n").encode()


#: The files the demo server publishes, by URL path.
CATALOG: dict[str, Callable[[], bytes]] = {
    "stations.csv": stations_csv,
    "air_temperature_2020.csv": air_temperature_csv,
    "ocean_buoys.csv": ocean_buoys_csv,
}
