"""What the compose tier must leave as it found it on the host: IP forwarding, network links,
routes and firewall rules (the private engine runs with --bridge=none --iptables=false
--ip-forward=false; this checks that it kept to that)."""

import shutil
import subprocess
from pathlib import Path

# What capture() runs; deploy/install-deps.sh installs them (iproute2, iptables with docker.io,
# nftables).
TOOLS = ("ip", "iptables-save", "nft")


class HostStateUnavailable(RuntimeError):
    """A fact could not be read, so a before/after comparison of it would prove nothing."""


def _require_tools():
    # A placeholder for a missing tool would equal itself before and after, and the check
    # would pass without having looked: refuse instead.
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        raise HostStateUnavailable(
            f"cannot check the host's network state: {', '.join(missing)} not installed "
            "(deploy/install-deps.sh installs them)")


def _run(*cmd):
    result = subprocess.run(list(cmd), capture_output=True, text=True)
    # A failed listing (no permission, say) would compare equal to itself, as a missing tool.
    if result.returncode != 0:
        raise HostStateUnavailable(
            f"cannot check the host's network state: `{' '.join(cmd)}` exited "
            f"{result.returncode}: {result.stderr.strip()}")
    # Counters in iptables-save output change with traffic; only the rules matter.
    lines = [line for line in result.stdout.splitlines()
             if not line.startswith("#") and not line.startswith(":")]
    return "\n".join(lines)


class HostNetworkState:
    def __init__(self, facts):
        self.facts = facts

    @classmethod
    def capture(cls):
        """Raises HostStateUnavailable when a fact cannot be read."""
        _require_tools()
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
