"""How many CPU cores this process may use."""
import os


def available_cores():
    """Cores this process may run on, at least 1: its CPU affinity where the platform reports it, and no more
    than a SLURM job was given (SLURM_CPUS_PER_TASK; clusters that do not bind tasks to cores leave the
    affinity at the whole node)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    given = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if given.isdigit() and int(given) > 0:
        cores = min(cores, int(given))
    return max(1, cores)
