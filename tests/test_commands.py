"""The command vocabulary (hub/commands.py) against the wire codecs that carry it: every op a
channel is said to carry translates, every other op is refused before it is queued."""

from __future__ import annotations

import base64
import hashlib

import pytest

from hub import commands
from hub.protocols import adms, mqtt

SAMPLES = {
    "user.upsert": commands.user_upsert("7", "Siti"),
    "user.delete": commands.user_delete("7"),
    "template.set": commands.template_set("7", 3, b"\x01\x02"),
    "template.delete": commands.template_delete("7", 3),
    "face.set": commands.face_set("7", b"\xff\xd8jpeg", hashlib.sha256(b"\xff\xd8jpeg").hexdigest()),
    "face.delete": commands.face_delete("7"),
    "users.list": commands.users_list(),
    "card.set": commands.Command("card.set", {"user_id": "7", "card": "123"}),
    "device.reboot": commands.Command("device.reboot", {}),
    "device.time.set": commands.Command("device.time.set", {}),
    "device.config.set": commands.Command("device.config.set", {"key": "v"}),
    "door.open": commands.Command("door.open", {}),
    "events.resend": commands.Command("events.resend", {"from_time": "2026-11-01 00:00:00"}),
}


def test_every_op_has_a_sample() -> None:
    assert set(SAMPLES) == set(commands.OPS)
    assert all(SAMPLES[op].op == op for op in SAMPLES)


@pytest.mark.parametrize("op", commands.OPS)
def test_adms_carries_exactly_what_the_vocabulary_says(op: str) -> None:
    cmd = SAMPLES[op]
    if op in commands.CARRIED["adms"]:
        verb, _ = adms.command_for(cmd.op, cmd.data)
        assert verb
        commands.check("adms", op)
    else:
        with pytest.raises(adms.AdmsError):
            adms.command_for(cmd.op, cmd.data)
        with pytest.raises(commands.CommandError, match=op):
            commands.check("adms", op)


@pytest.mark.parametrize("op", commands.OPS)
def test_mqtt_carries_every_op(op: str) -> None:
    from datetime import UTC, datetime

    cmd = SAMPLES[op]
    doc = mqtt.parse_cmd(mqtt.format_cmd("c-1", cmd.op, cmd.data, datetime(2026, 12, 1, tzinfo=UTC), None))
    assert doc.op == op
    commands.check("mqtt", op)


def test_builders_carry_the_bytes_and_the_adms_line_holds_them() -> None:
    verb, fields = adms.command_for(*_pair(commands.template_set("12", 6, b"\x00tmpl")))
    assert verb == "DATA UPDATE BIODATA"
    assert fields["Pin"] == "12" and fields["No"] == 6 and base64.b64decode(fields["Tmp"]) == b"\x00tmpl"
    verb, fields = adms.command_for(*_pair(commands.face_set("12", b"\xff\xd8x", "h")))
    assert verb == "DATA UPDATE BIOPHOTO" and base64.b64decode(fields["Content"]) == b"\xff\xd8x"


def test_unknown_op_and_non_push_terminal_are_refused_with_the_choices() -> None:
    with pytest.raises(commands.CommandError, match="user.upsert"):
        commands.check("mqtt", "user.explode")
    with pytest.raises(commands.CommandError, match="zk-tcp"):
        commands.channel_of("zk-tcp", "A1")
    assert commands.channel_of("adms") == "adms"


def _pair(cmd: commands.Command) -> tuple[str, dict]:
    return cmd.op, cmd.data
