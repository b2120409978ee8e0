"""The product's own vocabulary: the choices an admin makes, shared by every layer.

These enums are what a profile stores, what the link builder and the backfill read, and what the
window and the CLI offer. They sit below `halo/`, `storage/` and `core/` so that none of those
has to import another just to name a choice.
"""

from __future__ import annotations

import enum


class SecretMode(enum.Enum):
    """Where a profile's secret comes from. There is deliberately no plaintext option."""

    KEYRING = "keyring"
    ASK = "ask"


class Numbering(enum.Enum):
    """Which invoice number the Benji link carries."""

    HALO = "halo"
    ACCOUNTING = "accounting"


class AccountingTool(enum.Enum):
    """The accounting system Benji Pays reads invoices from."""

    QUICKBOOKS = "quickbooks"
    XERO = "xero"
