"""`python -m halo_paylink`: the same as the `halo-paylink` command."""

import sys

from halo_paylink.cli import main

sys.exit(main())
