"""ZK standalone terminals (TCP/UDP :4370, RS-232/485): pull, clock, live events."""
