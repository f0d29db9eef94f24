"""The roster: employees, offices, identity numbers, PINs and which terminals each one reaches."""
