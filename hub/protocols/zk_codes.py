"""ZKTeco's numbering of punch states and verify modes, shared by the binary log, ADMS ATTLOG
lines and USB exports (one table, so every path maps a code the same way)."""

from __future__ import annotations

from hub.punch import State, Verify

# ZK "state" byte (attendance state / punch) -> canonical state.
ZK_STATE = {
    0: State.CHECK_IN,
    1: State.CHECK_OUT,
    2: State.BREAK_OUT,
    3: State.BREAK_IN,
    4: State.OT_IN,
    5: State.OT_OUT,
}
# ZK verify byte -> canonical verify (TFT/ADMS numbering; 0 is password on old units).
ZK_VERIFY = {
    0: Verify.PASSWORD,
    1: Verify.FINGERPRINT,
    2: Verify.CARD,
    3: Verify.PASSWORD,
    4: Verify.CARD,
    15: Verify.FACE,
    25: Verify.PALM,
}


def zk_state(code: int) -> State:
    return ZK_STATE.get(code, State.UNDEFINED)


def zk_verify(code: int) -> Verify:
    return ZK_VERIFY.get(code, Verify.OTHER)
