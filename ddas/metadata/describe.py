"""From an extracted metadata document to what people see and search: a one-line summary, the
search words, and the signature that groups "same data, different files".

Pure functions over the readers' JSON documents, so the registry, the alert card and the sidebar all
say the same thing about a file.
"""

from __future__ import annotations

import json
import re
from typing import Any

from blake3 import blake3

WORD = re.compile(r"[0-9a-z_]+")
MAX_WORD = 64
MAX_WORDS = 500
_SKIP_WORDS = frozenset({"a", "an", "and", "of", "the", "in", "on", "at", "for", "to", "by"})


def words_of(text: str) -> list[str]:
    """Searchable words of a text: lower-cased ``[0-9a-z_]`` runs, plus the parts of
    ``snake_case`` names (``air_temperature`` is found by ``temperature`` too)."""
    out: list[str] = []
    for word in WORD.findall(text.lower()):
        parts = [word, *(p for p in word.split("_") if p and "_" in word)]
        out += [p[:MAX_WORD] for p in parts if p not in _SKIP_WORDS]
    return out


def search_words(doc: dict[str, Any]) -> list[str]:
    """Variable and column names, their long and standard names, the title/institution/source
    words, and the format: what ``datasets?q=`` should find a file by."""
    texts = [str(doc.get("format", ""))]
    for var in doc.get("variables", []):
        texts += [str(var.get(k, "")) for k in ("name", "long_name", "standard_name")]
    texts += [str(c.get("name", "")) for c in doc.get("columns", [])]
    for key in ("title", "institution", "source", "summary"):
        texts.append(str(doc.get("attrs", {}).get(key, "")))
    seen: dict[str, None] = {}
    for text in texts:
        for word in words_of(text):
            seen.setdefault(word)
    return list(seen)[:MAX_WORDS]


def _data_variables(doc: dict[str, Any]) -> list[dict[str, Any]]:
    variables = doc.get("variables", [])
    dims = set(doc.get("dims", {}))
    return [v for v in variables if not v.get("coord") and v.get("name") not in dims]


def summary(doc: dict[str, Any]) -> str:
    """``t2m (K), 2020-01-01…2020-12-31, 0.25°`` for gridded data; columns and rows for tables."""
    fmt = doc.get("format")
    if fmt in ("parquet", "csv"):
        cols = [c["name"] for c in doc.get("columns", [])]
        head = ", ".join(cols[:4]) + ("…" if len(cols) > 4 else "")
        text = f"{len(cols)} columns ({head})" if cols else "no header"
        if fmt == "parquet":
            return f"{text}, {doc.get('rows', 0):,} rows"
        return f"{text}, delimiter {doc.get('delimiter', ',')!r}"
    parts = []
    names = [
        f"{v['name']} ({v['units']})" if v.get("units") else str(v["name"])
        for v in _data_variables(doc)[:3]
    ]
    if names:
        more = len(_data_variables(doc)) - len(names)
        parts.append(", ".join(names) + (f" +{more}" if more > 0 else ""))
    if doc.get("time"):
        parts.append(f"{doc['time']['start']}…{doc['time']['end']}")
    steps = [doc[k].get("step") for k in ("lat", "lon") if doc.get(k)]
    if steps and all(s is not None for s in steps) and len(set(steps)) == 1:
        parts.append(f"{steps[0]:g}°")
    elif steps and all(s is not None for s in steps):
        parts.append(" x ".join(f"{s:g}°" for s in steps))
    return ", ".join(parts) or str(fmt or "")


def signature(doc: dict[str, Any]) -> str | None:
    """A digest of what the data *is*, not how it is stored: variables (name, dims, shape,
    units), dimensions, time and space coverage, title/source/institution for gridded data;
    columns, row count and per-column min/max for Parquet. Encoding, compression and chunking
    are left out, so a re-compressed or re-chunked copy has the same signature. None when a
    document says too little to tell (a CSV header alone, an empty file)."""
    fmt = doc.get("format")
    if fmt == "parquet":
        if not doc.get("columns") or not doc.get("stats"):
            return None
        key: dict[str, Any] = {k: doc.get(k) for k in ("columns", "rows", "stats")}
    elif fmt in ("netcdf", "hdf5", "zarr"):
        variables = _data_variables(doc)
        if not variables or doc.get("truncated"):
            return None
        key = {
            "variables": sorted(
                (v["name"], v.get("dims", []), v.get("shape", []), v.get("units"))
                for v in doc.get("variables", [])
            ),
            "dims": doc.get("dims", {}),
            "coverage": [doc.get(k) for k in ("time", "lat", "lon")],
            "attrs": {k: doc.get("attrs", {}).get(k) for k in ("title", "source", "institution")},
        }
    else:
        return None
    text = json.dumps(key, sort_keys=True, default=str)
    return blake3(f"{fmt}\n{text}".encode()).hexdigest()
