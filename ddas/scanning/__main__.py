"""``python -m ddas.scanning scan ROOT...``: the scan commands without the ``ddas`` entry point."""

from ddas.scanning.cli import main

main()
