"""Memory: what the machine has, sizes as users write them ('2G', '512M', '25%'), and how corpus
preparation divides its budget."""
import os
import re

from .errors import ConfigError

DEFAULT_BUDGET_FRACTION = 0.25   # of physical memory, for corpus preparation
MIN_BUDGET = 64 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(?:i?b)?|(%))\s*$", re.IGNORECASE)


def total_memory():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_memory():
    """MemAvailable from /proc/meminfo (memory that can be had without swapping), else physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return total_memory()


def parse_size(text, option):
    """Bytes from '123', '512M', '2G', '1.5GB', '2GiB' or '25%' (of physical memory); ConfigError naming
    the option otherwise."""
    match = _SIZE.match(str(text))
    if not match:
        raise ConfigError(f"{option}: expected a size such as 512M, 2G or 25%, got {str(text)[:40]!r}")
    number = float(match[1])
    if match[3]:
        if not 0 < number <= 100:
            raise ConfigError(f"{option}: a percentage must be in (0, 100], got {match[1]}%")
        return int(total_memory() * number / 100)
    return int(number * _UNITS[(match[2] or "").lower()])


def default_memory_budget():
    return max(MIN_BUDGET, int(total_memory() * DEFAULT_BUDGET_FRACTION))


class PreparationBudget:
    """How corpus preparation divides `total` bytes: the token table, the per-token ids and sentence ends
    held in memory before they go to disk, and room for the work done when the table is written out."""

    def __init__(self, total):
        if total < MIN_BUDGET:
            raise ConfigError(f"--memory-budget: at least {MIN_BUDGET >> 20}M is needed, got {total} bytes")
        self.total = total
        self.table = int(total * 0.4)
        self.ids_in_memory = int(total * 0.1)
        self.ends_in_memory = int(total * 0.05)
