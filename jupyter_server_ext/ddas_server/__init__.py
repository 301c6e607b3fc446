"""DDAS's jupyter-server extension: the shared dataset registry over REST, with Jupyter's own auth.

Enabled by ``jupyter-config/jupyter_server_config.d/ddas_server.json`` on install (or
``jupyter server extension enable ddas_server``); configured through ``c.DDASExtension.*``.
"""

from __future__ import annotations

from typing import Any

from ddas_server.app import DDASExtension

__all__ = ["DDASExtension"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """How jupyter-server finds the extension app in this package."""
    return [{"module": "ddas_server", "app": DDASExtension}]
