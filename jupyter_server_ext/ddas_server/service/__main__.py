"""``python -m ddas_server.service``: run DDAS as a JupyterHub service."""

from ddas_server.service.app import main

main()
