"""What the compose tier must leave as it found it on the host: IP forwarding, network links,
routes and firewall rules (the private engine runs with --bridge=none --iptables=false
--ip-forward=false; this checks that it kept to that)."""

import shutil
import subprocess
from pathlib import Path


def _run(*cmd):
    if not shutil.which(cmd[0]):
        return f"({cmd[0]} not installed)"
    result = subprocess.run(list(cmd), capture_output=True, text=True)
    # Counters in iptables-save output change with traffic; only the rules matter.
    lines = [line for line in result.stdout.splitlines()
             if not line.startswith("#") and not line.startswith(":")]
    return "\n".join(lines) if result.returncode == 0 else f"(exit {result.returncode})"


class HostNetworkState:
    def __init__(self, facts):
        self.facts = facts

    @classmethod
    def capture(cls):
        return cls({
            "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
            "links": sorted(line.split(":")[1].strip().split("@")[0]
                            for line in _run("ip", "-o", "link", "show").splitlines() if ":" in line),
            "routes": _run("ip", "route", "show", "table", "all"),
            "iptables": _run("iptables-save"),
            "nftables": _run("nft", "list", "ruleset"),
        })

    def differences(self, other):
        return {k: (self.facts[k], other.facts[k]) for k in self.facts
                if self.facts[k] != other.facts[k]}
