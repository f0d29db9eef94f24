"""TLS to the broker (mqtt.tls): the broker's certificate checked against a CA file, and an
optional client certificate. Shared by the hub's listener and the terminal simulator."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt


class TlsConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TlsOptions:
    ca_file: str = ""  # empty: the system's trusted CAs
    cert_file: str = ""
    key_file: str = ""

    @classmethod
    def from_settings(cls, m: Any) -> TlsOptions | None:
        if not getattr(m, "tls", False):
            return None
        return cls(m.tls_ca_file, m.tls_cert_file, m.tls_key_file)

    def check(self) -> None:
        for name, path in (("mqtt.tls_ca_file", self.ca_file), ("mqtt.tls_cert_file", self.cert_file),
                           ("mqtt.tls_key_file", self.key_file)):
            if path and not Path(path).is_file():
                raise TlsConfigError(f"{name}: berkas {path} tidak ada / file not found")
        if bool(self.cert_file) != bool(self.key_file):
            raise TlsConfigError("mqtt.tls_cert_file dan tls_key_file harus diisi bersama / "
                                 "must be given together")

    def apply(self, client: mqtt.Client) -> None:
        self.check()
        client.tls_set(ca_certs=self.ca_file or None, certfile=self.cert_file or None,
                       keyfile=self.key_file or None, cert_reqs=ssl.CERT_REQUIRED,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
