"""``python -m chromagen`` = the ``chromagen`` command (DDP launchers re-run it this way)."""

from chromagen.cli import main

main()
