"""DDAS as a JupyterHub-managed service (``ddas-service``, ``python -m ddas_server.service``).

See :mod:`ddas_server.service.app` and docs/admin-guide.md, "DDAS on JupyterHub".
"""

from __future__ import annotations

from ddas_server.service.app import DDASService, main

__all__ = ["DDASService", "main"]
