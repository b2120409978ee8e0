"""`python -m halo_paylink`: the same as the `halo-paylink` command.

`gui_main` is the `halo-paylink-gui` entry point (a gui-script: on Windows it runs without a
console window), which opens the window and takes only the window's options.
"""

import sys

from halo_paylink.cli import build_parser, main


def gui_main() -> int:
    """Open the window (`--demo`, `--profile`, `--version`, `--help`); the process exit code."""
    parser = build_parser()
    parser.prog = "halo-paylink-gui"
    args = parser.parse_args()
    from halo_paylink.ui.app import run_app

    return run_app(demo=args.demo, profile=args.profile)


if __name__ == "__main__":
    sys.exit(main())
