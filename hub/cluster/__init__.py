"""Several `hub run` processes sharing a fleet through a PostgreSQL-backed task queue
(procrastinate): terminal pulls are tasks, one at a time per terminal, worked on by every
process; a dead process's terminals are taken up by the others."""
