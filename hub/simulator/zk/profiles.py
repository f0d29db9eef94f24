"""Firmware profiles of simulated ZK terminals: what a unit reports and how it formats data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Profile:
    name: str
    platform: str
    device_name: str
    firmware: str  # GET_VERSION answer
    user_size: int  # 28 or 72
    att_size: int  # 8, 16 or 40
    transports: tuple[str, ...]  # subset of ("tcp", "udp")
    pin_width: int
    users_cap: int
    fingers_cap: int
    rec_cap: int
    fp_version: int = 10
    face: bool = False
    face_version: int = 0
    faces_cap: int = 0
    serial_prefix: str = "SIM"
    oplog_cap: int = 10000
    # What the firmware answers beyond the common set (the rest get ACK_UNKNOWN 0xFFFF), and
    # what it reports as ~SSR. SSR firmware (72-byte users) takes the SSR SDK's access
    # commands 21-30, verify modes 79/80 and the one-template write 119+87 (zkproto, an F19);
    # old firmware takes USERTEMP_WRQ 10 instead, which newer units answer 0xFFFF (php_zklib
    # #15). Face templates over 150 only on iFace-class units (pyzk #259), not SpeedFace (#222).
    ssr: bool = True
    face_templates: bool = False
    # (how TCP streams are framed is the server's: hub.simulator.zk.framing)
    # UDP datagrams carry at most 1024 data bytes (pyzk reads 1032)
    udp_packet: int = 1024
    extra_options: dict[str, str] = field(default_factory=dict)

    @property
    def rt_event_size(self) -> int:
        # pyzk 0.9 parses 12- and 32-byte EF_ATTLOG payloads; old units use the u32 form
        return 12 if self.user_size == 28 else 32


MONO = Profile(
    name="mono", platform="ZEM560", device_name="K14", firmware="Ver 6.60 Apr 28 2015",
    user_size=28, att_size=16, transports=("udp",), pin_width=9, users_cap=3000, fingers_cap=3000,
    rec_cap=100000, serial_prefix="OGT", extra_options={"~ExtendFmt": "0", "~UserExtFmt": "0"},
    ssr=False,
)
MONO8 = replace(MONO, name="mono8", device_name="U100", att_size=8, firmware="Ver 6.4.1(build 99) Mar 3 2011",
                serial_prefix="OGU")
TFT = Profile(
    name="tft", platform="ZMM200_TFT", device_name="iClock680", firmware="Ver 6.60 Jun 16 2015",
    user_size=72, att_size=40, transports=("tcp", "udp"), pin_width=9, users_cap=10000, fingers_cap=10000,
    rec_cap=200000, serial_prefix="A7K", extra_options={"~ExtendFmt": "1", "~UserExtFmt": "1", "FaceFunOn": "0"},
)
FACE = replace(TFT, name="face", platform="ZMM220_TFT", device_name="iFace402/ID", firmware="Ver 6.60 Sep 19 2019",
               face=True, face_version=7, faces_cap=3000, serial_prefix="DGD", face_templates=True,
               extra_options={"~ExtendFmt": "1", "~UserExtFmt": "1", "FaceFunOn": "1"})
# SpeedFace-V5L (visible-light face): 49-byte attendance records (pyzk #174 / PR #222),
# options as read from one (vodvud/php_zklib #39: ZAM170_TFT, ~PIN2Width=14, FaceFunOn=1)
SPEEDFACE = replace(TFT, name="speedface", platform="ZAM170_TFT", device_name="SpeedFace-V5L",
                    firmware="Ver 6.60 Jul  1 2020", att_size=49, pin_width=14, users_cap=6000, fingers_cap=6000,
                    rec_cap=200000, face=True, face_version=0, faces_cap=6000, serial_prefix="CKJ",
                    extra_options={"~ExtendFmt": "1", "~UserExtFmt": "1", "FaceFunOn": "1"})

PROFILES: dict[str, Profile] = {p.name: p for p in (MONO, MONO8, TFT, FACE, SPEEDFACE)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
