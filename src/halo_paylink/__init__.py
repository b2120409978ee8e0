"""Halo PayLink Assistant: connect HaloPSA to Benji Pays and add payment links to open invoices.

The app's identity lives here and only here: `pyproject.toml` reads the version from this file,
and the packaging files (desktop file, metainfo, installers, Flatpak manifest) repeat these values
under a test that fails when one drifts (`tests/unit/test_packaging.py`).
"""

__version__ = "0.1.0"
APP_NAME = "Halo PayLink Assistant"
#: The reverse-DNS id: desktop file, icon and AppStream names, macOS bundle id, Windows
#: AppUserModelID, Flatpak id. The `io.github.<owner>` form; to be confirmed against the real
#: repository owner before the first public release (see packaging/README.md).
APP_ID = "io.github.halopaylink.HaloPayLinkAssistant"
#: Who publishes the app (Windows CompanyName, macOS copyright, AppStream developer, authors).
PUBLISHER = "Halo PayLink Assistant contributors"
#: The project's home page, source and issue tracker (About dialog, metainfo, package metadata).
HOMEPAGE = "https://github.com/halopaylink/halo-paylink"
ISSUES_URL = f"{HOMEPAGE}/issues"
LICENSE_NAME = "MIT"
