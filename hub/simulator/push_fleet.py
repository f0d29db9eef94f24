"""Run a set of simulated push terminals (ADMS and MQTT) for a day of punches each.

Entry point for `hub push simulate` and for the fleet command (`hub simulate fleet`,
kinds `adms` and `mqtt`): `run_push_fleet(...)` registers nothing by itself; pass
`register=True` (or approve them with `hub push approve`) so the hub accepts their data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from hub.protocols import mqtt as mqtt_proto
from hub.simulator.adms import AdmsTerminal, run_adms_terminal
from hub.simulator.mqtt import MqttTerminal, run_mqtt_terminal
from hub.simulator.terminal_state import Record, day_of_punches


@dataclass
class PushFleetResult:
    records: dict[str, list[Record]] = field(default_factory=dict)
    terminals: dict[str, AdmsTerminal | MqttTerminal] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.records.values())

    @property
    def unsent(self) -> int:
        return sum(t.outbox() for t in self.terminals.values())


def push_serials(adms: int, mqtt: int, prefix: str = "SIM") -> tuple[list[str], list[str]]:
    return ([f"{prefix}A{i:03d}" for i in range(adms)],
            [f"{prefix}M{i:03d}" for i in range(mqtt)])


def run_push_fleet(adms: int, mqtt: int, adms_url: str, broker_host: str = "127.0.0.1",
                   broker_port: int = 1883, day: date | None = None, staff: int = 40,
                   seconds: float = 10.0, prefix: str = "SIM",
                   progress: Callable[[int, int], None] | None = None,
                   root: str = mqtt_proto.ROOT) -> PushFleetResult:
    """Every terminal records its day spread over `seconds`, then drains its outbox."""
    day = day or date.today()
    a_sns, m_sns = push_serials(adms, mqtt, prefix)
    out = PushFleetResult({sn: day_of_punches(sn, day, staff) for sn in a_sns + m_sns})
    stop = threading.Event()
    threads = []
    for sn in a_sns:
        rate = len(out.records[sn]) / seconds
        threads.append(threading.Thread(target=lambda sn=sn, rate=rate: out.terminals.__setitem__(
            sn, run_adms_terminal(sn, adms_url, out.records[sn], stop, rate, poll_s=0.2))))
    for sn in m_sns:
        rate = len(out.records[sn]) / seconds
        threads.append(threading.Thread(target=lambda sn=sn, rate=rate: out.terminals.__setitem__(
            sn, run_mqtt_terminal(sn, out.records[sn], stop, broker_host, broker_port, rate,
                                  root=root))))
    for th in threads:
        th.start()
    done = threading.Event()

    def _stopper() -> None:
        done.wait(seconds)
        stop.set()

    threading.Thread(target=_stopper, daemon=True).start()
    for n, th in enumerate(threads, start=1):
        th.join()
        if progress:
            progress(n, len(threads))
    done.set()
    return out
