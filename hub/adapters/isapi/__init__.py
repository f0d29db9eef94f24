"""Hikvision ISAPI face/access terminals: signed in with HTTP Digest, pulled by event serial
number with a count gate, their events normalised into canonical punches."""
