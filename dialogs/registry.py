"""The dialogs that exist, by stable name. Some are built from the policy pack in use."""

from __future__ import annotations

from dialogs.engine import Dialog
from dialogs.flows import (
    admin,
    closing,
    prefiling,
    rectification,
    review,
    selfcheck,
    tolerance,
    updates,
    visits,
)
from dialogs.flows.registration import REGISTRATION
from dialogs.policy.pack import PolicyPack

_BUILT: dict[tuple[str, str], dict[str, Dialog]] = {}


def dialogs_for(pack: PolicyPack | None) -> dict[str, Dialog]:
    fixed = {
        d.name: d
        for d in (
            REGISTRATION,
            *review.DIALOGS,
            *rectification.DIALOGS,
            *tolerance.DIALOGS,
            *updates.DIALOGS,
            *visits.DIALOGS,
            *closing.DIALOGS,
            *admin.DIALOGS,
        )
    }
    if pack is None:
        return fixed
    key = (pack.id, pack.version)
    if key not in _BUILT:
        _BUILT[key] = {
            **fixed,
            prefiling.NAME: prefiling.build(pack),
            selfcheck.NAME: selfcheck.build(pack),
        }
    return _BUILT[key]
