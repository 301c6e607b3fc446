"""Kernels, the CLI and the sidebar as clients of the DDAS JupyterHub service.

``DDAS_REGISTRY=hub://ddas`` (or the service's URL) switches ``ddas.fetch/open/lookup/forget`` and
the ``ddas`` command from the embedded registry to the service; see :mod:`ddas.remote.client`.
"""

from __future__ import annotations

from ddas.remote.client import ServiceClient, client

__all__ = ["ServiceClient", "client"]
