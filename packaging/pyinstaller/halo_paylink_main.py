"""Entry script of the PyInstaller bundle: the same as the `halo-paylink` console script."""

import sys

from halo_paylink.cli import main

if __name__ == "__main__":
    sys.exit(main())
