"""mkdocs hook: publish the REST API's OpenAPI file with the docs, and a page generated from it.

The contract lives beside the handlers (``jupyter_server_ext/ddas_server/openapi.yaml``), where the
server tests check it against the running API. Copying it into the site at build time, and deriving
the endpoint reference from it, means the docs can never describe an API the server does not have.
Links that leave ``docs/`` for that file (they work on a forge) are pointed at the published copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "jupyter_server_ext" / "ddas_server" / "openapi.yaml"
SPEC_LINK = re.compile(r"\((?:\.\./)+jupyter_server_ext/ddas_server/openapi\.yaml\)")
METHODS = ("get", "post", "put", "patch", "delete")


def on_files(files: Files, config: Any) -> Files:
    """Add ``openapi.yaml`` (verbatim) and ``rest-reference.md`` (generated) to the site."""
    files.append(File.generated(config, "openapi.yaml", abs_src_path=str(SPEC)))
    files.append(File.generated(config, "rest-reference.md", content=reference_page(SPEC)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links to the repository's spec at the copy published with the site."""
    depth = page.file.src_uri.count("/")
    return SPEC_LINK.sub(f"({'../' * depth}openapi.yaml)", markdown)


def reference_page(spec_path: Path) -> str:
    """Markdown for every operation: method, path, summary, parameters and response codes."""
    spec = yaml.safe_load(spec_path.read_text())
    shared = spec.get("components", {}).get("parameters", {})
    lines = [
        "# REST endpoints",
        "",
        f"Generated at build time from [`openapi.yaml`](openapi.yaml) (OpenAPI "
        f"{spec['openapi']}, API version {spec['info']['version']}), the contract kept beside "
        "the handlers. How to call the API, who may do what, and the server settings are in "
        "[REST API](rest-api.md). Paths are relative to `{base_url}ddas/api`.",
        "",
    ]
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            lines += [f"## `{method.upper()} {path}`", "", op.get("summary", "").strip(), ""]
            if op.get("description"):
                lines += [op["description"].strip(), ""]
            params = [_resolve(p, shared) for p in op.get("parameters", [])]
            if params:
                lines += ["| parameter | in | type | meaning |", "|---|---|---|---|"]
                lines += [_param_row(p) for p in params]
                lines.append("")
            if op.get("requestBody"):
                lines += ["Request body: JSON (see the schema in `openapi.yaml`).", ""]
            codes = ", ".join(f"`{code}`" for code in op.get("responses", {}))
            lines += [f"Responses: {codes}", ""]
    lines += [
        "## The whole specification",
        "",
        '??? note "openapi.yaml"',
        "",
        "    ```yaml",
        *("    " + line if line else "" for line in spec_path.read_text().splitlines()),
        "    ```",
        "",
    ]
    return "\n".join(lines)


def _resolve(param: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    ref = param.get("$ref", "")
    return shared.get(ref.rsplit("/", 1)[-1], param) if ref else param


def _param_row(param: dict[str, Any]) -> str:
    schema = param.get("schema", {})
    kind = schema.get("type", "")
    if "enum" in schema:
        kind += " (" + ", ".join(f"`{v}`" for v in schema["enum"]) + ")"
    limits = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    if "default" in schema:
        limits.append(f"default `{schema['default']}`")
    meaning = str(param.get("description", "")).replace("|", "\\|").replace("\n", " ")
    required = " (required)" if param.get("required") else ""
    extra = f" ({', '.join(limits)})" if limits else ""
    return f"| `{param['name']}`{required} | {param.get('in', '')} | {kind}{extra} | {meaning} |"
