"""The built-in Halo sandbox: a local HTTP server that behaves like HaloPSA's API.

Used as the app's demo mode (`halo-paylink --demo`, `halo-paylink sandbox`) and by the integration
tests. No Qt; standard library only.
"""

from halo_paylink.sandbox.faults import Fault, FaultInjector
from halo_paylink.sandbox.portal import PORTAL_LINK_FIELD
from halo_paylink.sandbox.seed import DEMO_BENJI_TEMPLATE, SeedResult, seed_invoices
from halo_paylink.sandbox.server import Sandbox
from halo_paylink.sandbox.state import (
    DEMO_CLIENT_SECRET,
    MIXES,
    ListingFault,
    SandboxConfig,
    SandboxStats,
    StatusCodes,
    parse_rate_limit,
    parse_status_codes,
)

__all__ = [
    "DEMO_BENJI_TEMPLATE",
    "DEMO_CLIENT_SECRET",
    "MIXES",
    "PORTAL_LINK_FIELD",
    "Fault",
    "FaultInjector",
    "ListingFault",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "SeedResult",
    "StatusCodes",
    "parse_rate_limit",
    "parse_status_codes",
    "seed_invoices",
]
