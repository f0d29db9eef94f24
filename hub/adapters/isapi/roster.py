"""A sync plan carried out on a Hikvision terminal over ISAPI, then read back.

Removals first (a leaver's person and face go together), then people added or renamed,
then faces (the hub's enrolled terminal-ready JPEG, replaced with PUT where one is there).
A person goes with their valid period (joining to leaving: the terminal itself turns a
leaver away); one already on the terminal that the hub did not know is taken over. People
go one per request (the firmware's UserInfo/Record takes one), removals in batches.
One refusal (a face the terminal finds no face in, a full face library) is reported for
that person and the rest go on. Then the terminal is read back (people and faces), and
what it holds, not the plan, becomes its confirmed state (hub.sync.apply)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.adapters.isapi.client import IsapiClient, IsapiFailure
from hub.commands import DevicePlan, Issue
from hub.messages import msg
from hub.protocols import isapi

DELETE_BATCH = 30  # people per UserInfo/Delete


@dataclass
class Outcome:
    sent: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)  # read back: (employeeNo, name, period)
    faces: list[str] = field(default_factory=list)  # read back: employeeNos with a face
    error: str | None = None


def push_plan(client: IsapiClient, plan: DevicePlan, faces: dict[int, bytes], hold_removals: bool = False
              ) -> Outcome:
    out = Outcome(sent={"users_removed": 0, "users_sent": 0, "templates_sent": 0, "templates_removed": 0})
    try:
        have_faces = set(client.faces())
        if not hold_removals:
            gone = [u.pin for u in plan.users_remove]
            for i in range(0, len(gone), DELETE_BATCH):
                client.delete_users(gone[i:i + DELETE_BATCH])
                out.sent["users_removed"] += len(gone[i:i + DELETE_BATCH])
        for t in plan.templates_remove:
            if t.kind == "face" and t.pin in have_faces:
                client.delete_face(t.pin)
                out.sent["templates_removed"] += 1
        refused: set[str] = set()
        for u, update in [(u, False) for u in plan.users_add] + [(u, True) for u in plan.users_update]:
            try:
                try:
                    (client.modify_user if update else client.add_user)(u.pin, isapi.name_for(u.name), u.valid)
                except IsapiFailure as exc:
                    if update or exc.sub != "deviceUserAlreadyExist":
                        raise
                    # on the terminal before the hub knew it (enrolled at the device, or a lost
                    # state): the hub's record replaces it
                    client.modify_user(u.pin, isapi.name_for(u.name), u.valid)
                out.sent["users_sent"] += 1
            except IsapiFailure as exc:
                refused.add(u.pin)
                out.issues.append(Issue("user_add", u.pin, msg("sync.user_rejected", detail=str(exc)), "error",
                                        u.employee_id))
        for t in plan.templates_add:
            if t.kind != "face" or t.pin in refused:
                continue
            jpeg = faces.get(t.template_id or -1)
            if jpeg is None:
                continue  # (reported when it could not be decrypted)
            try:
                client.put_face(t.pin, jpeg, replace=t.pin in have_faces)
                out.sent["templates_sent"] += 1
            except IsapiFailure as exc:
                out.issues.append(Issue("template_add", t.pin, msg("sync.face_rejected", detail=str(exc)), "error",
                                        t.employee_id, 0))
        out.users, out.faces = client.users(), client.faces()
    except (IsapiFailure, isapi.IsapiError) as exc:
        out.error = msg("sync.link_lost", detail=str(exc))
    return out
