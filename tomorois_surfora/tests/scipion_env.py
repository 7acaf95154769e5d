"""Environment for running Scipion headless (tests, scripts) without a Scipion installation folder.

pyworkflow reads its environment once, at import: call :func:`configure` before importing it. Values
already set in the environment are kept. ``python -m tomorois_surfora.tests.scipion_env`` prints the
variables as shell ``export`` lines, for Scipion's own test runner.
"""
import os
import sys
import tempfile

HOSTS_CONF = "[localhost]\nPARALLEL_COMMAND = mpirun -np %_(JOB_NODES)d --map-by node %_(COMMAND)s\n"


def configure(user_data=None):
    """Set SCIPION_DOMAIN, SCIPION_HOME, SCIPION_USER_DATA, SCIPION_HOSTS and SCIPION_PYTHON if unset.

    Parameters
    ----------
    user_data : str, optional
        Folder for projects and logs; a new temporary folder by default.

    Returns
    -------
    dict
        The Scipion variables now in ``os.environ``.
    """
    env = os.environ
    env.setdefault("SCIPION_DOMAIN", "pwem")
    if "SCIPION_USER_DATA" not in env:
        env["SCIPION_USER_DATA"] = user_data or tempfile.mkdtemp(prefix="tomorois-scipion-")
    home = env.setdefault("SCIPION_HOME", env["SCIPION_USER_DATA"])
    os.makedirs(os.path.join(home, "config"), exist_ok=True)
    hosts = env.setdefault("SCIPION_HOSTS", os.path.join(home, "config", "hosts.conf"))
    if not os.path.exists(hosts):
        with open(hosts, "w") as handle:
            handle.write(HOSTS_CONF)
    # Each protocol runs in its own subprocess with this interpreter (the venv's, not a system python3).
    env.setdefault("SCIPION_PYTHON", sys.executable)
    env.setdefault("SCIPION_NOTIFY", "False")
    env.setdefault("SCIPION_TESTS_CMD", f"{sys.executable} -m pyworkflow.apps.pw_run_tests")
    names = ("SCIPION_DOMAIN", "SCIPION_HOME", "SCIPION_USER_DATA", "SCIPION_HOSTS", "SCIPION_PYTHON",
             "SCIPION_NOTIFY", "SCIPION_TESTS_CMD")
    return {name: env[name] for name in names}


if __name__ == "__main__":
    for name, value in configure().items():
        print(f"export {name}='{value}'")
