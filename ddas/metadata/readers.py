"""Readers that ask a file what it says about itself, each from its header, footer or metadata only.

NetCDF and HDF5 through xarray (h5netcdf engine) or h5py, Parquet through pyarrow's footer, CSV from
its first 64 KiB, Zarr from its JSON metadata (``.zmetadata``, ``zarr.json``, ``.zarray``). Every
reader returns a plain JSON-able dict; a missing optional library raises :class:`ImportError` (the
caller then records nothing), and a deadline (``time.monotonic()`` value) stops a reader between
variables with ``truncated: True`` rather than holding a worker forever.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

CSV_SAMPLE = 64 * 1024
MAX_VARIABLES = 500
MAX_COORD_VALUES = 5_000_000  # coordinates longer than this are not read for coverage
KEPT_ATTRS = ("title", "institution", "source", "history", "references", "Conventions", "summary")
VAR_ATTRS = ("long_name", "standard_name", "units")


def _plain(value: Any) -> Any:
    """numpy scalars/arrays and bytes to JSON values (short)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value[:20]]
    if isinstance(value, str):
        return value[:2000]
    return value if isinstance(value, int | float | bool) or value is None else str(value)[:2000]


def _bounds(values: Any) -> dict[str, Any] | None:
    """min, max and the median step of a 1-D numeric coordinate (its resolution)."""
    import numpy as np

    arr = np.asarray(values, dtype="float64").ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    out: dict[str, Any] = {"min": float(arr.min()), "max": float(arr.max())}
    if arr.size > 1:
        out["step"] = round(float(np.median(np.abs(np.diff(arr)))), 6)
    return out


def _role(name: str, attrs: dict[str, Any]) -> str | None:
    """Which axis a coordinate is: ``time``, ``lat`` or ``lon`` (CF standard names, axis, units)."""
    std = str(attrs.get("standard_name", "")).lower()
    units = str(attrs.get("units", "")).lower()
    low = name.lower()
    if std == "time" or attrs.get("axis") == "T" or low in ("time", "t") or " since " in units:
        return "time"
    if std == "latitude" or units.startswith("degrees_n") or low in ("lat", "latitude"):
        return "lat"
    if std == "longitude" or units.startswith("degrees_e") or low in ("lon", "longitude"):
        return "lon"
    return None


def read_netcdf(path: Path, deadline: float) -> dict[str, Any]:
    """NetCDF-4 / HDF5 through xarray (decoded CF times); plain HDF5 through h5py."""
    ds = _open_xarray(path)
    if ds is None:
        return read_hdf5(path, deadline)
    with ds:
        doc: dict[str, Any] = {"format": "netcdf", "dims": {k: int(v) for k, v in ds.sizes.items()}}
        doc["attrs"] = {k: _plain(ds.attrs[k]) for k in KEPT_ATTRS if k in ds.attrs}
        doc["variables"], truncated = [], False
        for name, var in list(ds.variables.items())[:MAX_VARIABLES]:
            if time.monotonic() > deadline:
                truncated = True
                break
            entry = {"name": str(name), "dims": [str(d) for d in var.dims]}
            entry["shape"] = [int(n) for n in var.shape]
            entry["dtype"] = str(var.dtype)
            entry["coord"] = name in ds.coords
            entry.update({a: _plain(var.attrs[a]) for a in VAR_ATTRS if a in var.attrs})
            if "units" not in entry and "units" in var.encoding and name in ds.coords:
                entry["units"] = _plain(var.encoding["units"])
            doc["variables"].append(entry)
            role = _role(str(name), {**var.attrs, **var.encoding})
            if role and var.ndim == 1 and var.size <= MAX_COORD_VALUES and role not in doc:
                doc[role] = _coverage(role, var.values)
        doc["truncated"] = truncated
    return doc


def _open_xarray(path: Path) -> Any:
    """The dataset through the first engine that reads it (NetCDF-4, then NetCDF-3), or None."""
    import xarray as xr

    for engine in ("h5netcdf", "scipy", "netcdf4"):
        try:
            return xr.open_dataset(path, engine=engine, decode_times=True, cache=False)
        except (OSError, ValueError, TypeError, ImportError):
            continue
    return None


def _coverage(role: str, values: Any) -> dict[str, Any] | None:
    import numpy as np

    if role == "time":
        arr = np.asarray(values)
        if np.issubdtype(arr.dtype, np.datetime64) and arr.size:
            arr = arr[~np.isnat(arr)]
            if arr.size:
                day = np.datetime_as_string
                return {
                    "start": str(day(arr.min(), unit="D")),
                    "end": str(day(arr.max(), unit="D")),
                }
        return None
    return _bounds(values)


def read_hdf5(path: Path, deadline: float) -> dict[str, Any]:
    """Datasets (name, shape, dtype, units/long_name) and root attributes of any HDF5 file."""
    import h5py

    doc: dict[str, Any] = {"format": "hdf5", "variables": [], "dims": {}, "truncated": False}
    with h5py.File(path, "r") as f:
        doc["attrs"] = {k: _plain(f.attrs[k]) for k in KEPT_ATTRS if k in f.attrs}

        def visit(name: str, obj: Any) -> Any:
            if time.monotonic() > deadline or len(doc["variables"]) >= MAX_VARIABLES:
                doc["truncated"] = True
                return True  # stops visititems
            if isinstance(obj, h5py.Dataset):
                entry: dict[str, Any] = {"name": name, "shape": list(obj.shape)}
                entry["dtype"] = str(obj.dtype)
                entry.update({a: _plain(obj.attrs[a]) for a in VAR_ATTRS if a in obj.attrs})
                doc["variables"].append(entry)
            return None

        f.visititems(visit)
    return doc


def read_parquet(path: Path, deadline: float) -> dict[str, Any]:
    """Schema, row count and per-column min/max from the footer (no data pages read)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    doc: dict[str, Any] = {"format": "parquet", "rows": int(meta.num_rows)}
    doc["columns"] = [{"name": f.name, "type": str(f.type)} for f in schema][:MAX_VARIABLES]
    stats: dict[str, list[Any]] = {}
    for g in range(meta.num_row_groups):
        if time.monotonic() > deadline:
            doc["truncated"] = True
            break
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            s = column.statistics
            if s is not None and s.has_min_max:
                lo, hi = stats.get(column.path_in_schema, [s.min, s.max])
                stats[column.path_in_schema] = [min(lo, s.min), max(hi, s.max)]
    doc["stats"] = {k: [_plain(v) for v in mm] for k, mm in stats.items()}
    if schema.metadata and b"pandas" not in schema.metadata:
        doc["attrs"] = {k.decode(): _plain(v) for k, v in list(schema.metadata.items())[:20]}
    return doc


def read_csv(path: Path, deadline: float) -> dict[str, Any]:
    """Header and delimiter, sniffed from the first 64 KiB."""
    with open(path, "rb") as f:
        sample = f.read(CSV_SAMPLE).decode("utf-8", "replace")
    lines = sample.splitlines()
    if len(sample) == CSV_SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    text = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [h.strip() for h in rows[0]] if rows else []
    has_header = bool(rows) and _looks_like_header(text)
    return {
        "format": "csv",
        "delimiter": delimiter,
        "header": header[:MAX_VARIABLES] if has_header else [],
        "columns": [{"name": h} for h in header[:MAX_VARIABLES]] if has_header else [],
        "sampled_rows": max(0, len(rows) - 1),
    }


def _looks_like_header(text: str) -> bool:
    try:
        return csv.Sniffer().has_header(text)
    except csv.Error:
        return True


def read_zarr(path: Path, deadline: float) -> dict[str, Any]:
    """Arrays (shape, dtype, dimensions, units/long_name) from Zarr v2/v3 JSON metadata."""
    data = json.loads(path.read_text("utf-8"))
    doc: dict[str, Any] = {"format": "zarr", "variables": [], "dims": {}, "attrs": {}}
    entries = data.get("metadata", {"": data}) if isinstance(data, dict) else {}
    arrays: dict[str, dict[str, Any]] = {}
    attrs: dict[str, dict[str, Any]] = {}
    for key, value in entries.items():
        if not isinstance(value, dict):
            continue
        folder, _, leaf = key.rpartition("/")
        if leaf in (".zarray",) or value.get("node_type") == "array":
            arrays[folder if leaf == ".zarray" else key.removesuffix("/zarr.json")] = value
        elif leaf == ".zattrs":
            attrs[folder] = value
        if leaf == "zarr.json" and value.get("node_type") == "group":
            attrs[folder] = value.get("attributes", {})
    root = attrs.get("", {})
    doc["attrs"] = {k: _plain(root[k]) for k in KEPT_ATTRS if k in root}
    for name, meta in sorted(arrays.items())[:MAX_VARIABLES]:
        a = {**attrs.get(name, {}), **meta.get("attributes", {})}
        dims = a.get("_ARRAY_DIMENSIONS") or meta.get("dimension_names") or []
        shape = [int(n) for n in meta.get("shape", [])]
        entry = {"name": name, "dims": dims, "shape": shape, "dtype": str(meta.get("dtype", ""))}
        entry.update({k: _plain(a[k]) for k in VAR_ATTRS if k in a})
        doc["variables"].append(entry)
        doc["dims"].update({str(d): n for d, n in zip(dims, shape, strict=False)})
    return doc


ZARR_NAMES = (".zmetadata", "zarr.json", ".zarray")
READERS = {
    ".nc": read_netcdf,
    ".nc4": read_netcdf,
    ".netcdf": read_netcdf,
    ".h5": read_hdf5,
    ".hdf5": read_hdf5,
    ".he5": read_hdf5,
    ".parquet": read_parquet,
    ".pq": read_parquet,
    ".csv": read_csv,
    ".tsv": read_csv,
}
_SUFFIXES = tuple(READERS)


def reader_for(name: str):
    """The reader for a file name, or None (a format DDAS does not look into)."""
    if name in ZARR_NAMES:
        return read_zarr
    lowered = name.lower()
    if not lowered.endswith(_SUFFIXES):  # the common case (a scan asks for every file): one call
        return None
    return next((r for ext, r in READERS.items() if lowered.endswith(ext)), None)
