"""The roster: employees, offices, identity numbers and PIN mappings."""
