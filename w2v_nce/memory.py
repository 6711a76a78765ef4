"""Memory: what the machine has, sizes as users write them ('2G', '512M', '25%'), and how corpus
preparation divides its budget."""
import os
import re

from .errors import ConfigError

DEFAULT_BUDGET_FRACTION = 0.25   # of physical memory, for corpus preparation
MIN_BUDGET = 16 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(?:i?b)?|(%))\s*$", re.IGNORECASE)


def total_memory():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _proc_kilobytes(path, key):
    """The value of `key` (a line 'Key:   123 kB') in a /proc file, in bytes; None where there is none."""
    try:
        with open(path) as proc:
            for line in proc:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_memory():
    """MemAvailable from /proc/meminfo (memory that can be had without swapping), else physical memory."""
    available = _proc_kilobytes("/proc/meminfo", "MemAvailable")
    return total_memory() if available is None else available


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
    """A quarter of physical memory, and never less than what this process holds plus 256 MB (so a
    default run works on a small machine too)."""
    return max(int(total_memory() * DEFAULT_BUDGET_FRACTION), resident_memory() + (256 << 20))


def resident_memory():
    """This process's resident memory now (VmRSS), 0 where /proc is not there."""
    return _proc_kilobytes("/proc/self/status", "VmRSS") or 0


class PreparationBudget:
    """Corpus preparation within `total` bytes of resident memory for the whole process (Python, NumPy and
    the Numba kernels' code take about 170 MB of it). The per-token ids and sentence ends are held in
    memory up to a small share each, then go to disk; the token table grows only while the process, the
    growth and the work of writing the table out (about half the table again) fit in what is left."""

    WRITE_OUT_SHARE = 0.5

    def __init__(self, total):
        in_use = resident_memory()
        if total - in_use < MIN_BUDGET:
            raise ConfigError(f"--memory-budget: {total >> 20}M leaves less than {MIN_BUDGET >> 20}M beside the "
                              f"{in_use >> 20}M this process already uses; give at least "
                              f"{(in_use + MIN_BUDGET) >> 20}M")
        self.total = total
        self.ids_in_memory = int((total - in_use) * 0.06)
        self.ends_in_memory = int((total - in_use) * 0.03)
        self._reserve = self.ids_in_memory + self.ends_in_memory

    def table_may_grow(self, table, extra_bytes):
        after = table.nbytes + extra_bytes
        return resident_memory() + extra_bytes + self.WRITE_OUT_SHARE * after + self._reserve <= self.total
