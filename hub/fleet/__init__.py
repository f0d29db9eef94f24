"""The fleet: registering terminals and validating how to reach them."""
