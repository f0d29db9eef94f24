"""A ZK terminal simulator: firmware profiles, persisted terminal state, a TCP/UDP server, faults."""

from hub.simulator.zk.faults import Faults
from hub.simulator.zk.profiles import PROFILES, Profile, get_profile
from hub.simulator.zk.server import TerminalServer, run_terminal, start_in_thread
from hub.simulator.zk.terminal import CapacityError, Terminal, TerminalError

__all__ = ["PROFILES", "CapacityError", "Faults", "Profile", "Terminal", "TerminalError", "TerminalServer",
           "get_profile", "run_terminal", "start_in_thread"]
