"""The employees' own app: presensi from the phone (selfie + GPS, offline queue) and
self-service (their days and month, leave requests), served at /m/ as an installable web
app. The checks of a mobile punch (geofence, capture, face, liveness) and the phone's
sign-in live in hub.face; this package is what the employee sees and asks for."""
