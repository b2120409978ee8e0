"""Which granted scopes allow a request: one scope model for the client, the checks and the sandbox.

Halo grants `read:AREA` and `edit:AREA` per area (`invoices`, `tickets`, ...) and a few broad
scopes. A needed area scope is allowed by itself, by `edit:AREA` when it is `read:AREA`
(`facts.EDIT_IMPLIES_READ`), and by any of `facts.BROAD_SCOPES`. Any other scope (`admin`, ...)
is allowed only by itself.

The client uses this to tell a missing scope from missing agent rights after a 403, the
connection checks to say which of the two to fix, and the sandbox to enforce scopes the way Halo
does. Pure and standard-library only, so the sandbox can import it.
"""

from __future__ import annotations

from collections.abc import Iterable

from halo_paylink.halo import facts

_READ = "read:"
_EDIT = "edit:"


def scopes_allowing(needed: str) -> frozenset[str]:
    """Every scope that, granted alone, allows `needed` (which is among them)."""
    if needed.startswith(_READ):
        area = needed[len(_READ) :]
        implied = {f"{_EDIT}{area}"} if facts.EDIT_IMPLIES_READ else set()
        return frozenset({needed, *implied, *facts.BROAD_SCOPES})
    if needed.startswith(_EDIT):
        return frozenset({needed, *facts.BROAD_SCOPES})
    return frozenset({needed})


def scope_allows(granted: Iterable[str], needed: str) -> bool:
    """True when the granted scopes allow `needed` (e.g. "read:invoices")."""
    return not scopes_allowing(needed).isdisjoint(granted)
