"""A single-node SLURM cluster for the tests, made from Debian's packages (`slurm-wlm`, `munge`), as root.

    python tests/slurm/cluster.py start /tmp/groklab-slurm   # prints: export SLURM_CONF=/tmp/groklab-slurm/slurm.conf
    python tests/slurm/cluster.py stop /tmp/groklab-slurm

Everything lives in the one folder: its own munge key and socket (a munged already running on the machine is
left alone), slurm.conf with this host's name, CPUs and memory (`slurmd -C`), one `debug` partition, free ports,
and the state, spool, pid and log files of `slurmctld` and `slurmd`. No accounting storage (no slurmdbd): the
common small-cluster case, where `sacct` answers only that accounting is disabled. Clients find the cluster
through `SLURM_CONF`; `stop` ends the three daemons by the pids they wrote, and nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("slurmd", "slurmctld", "munged")  # stopped in this order
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "srun")

SLURM_CONF = """\
ClusterName=groklab
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
MpiDefault=none
ReturnToService=2
# a task that is cancelled, requeued or over its time limit is killed 2 s after its SIGTERM (SLURM's default: 30)
KillWait=2
SchedulerParameters=sched_interval=2,bf_interval=2
{node} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def missing() -> list[str]:
    """The programs this cluster needs that are not installed (empty when it can start)."""
    return [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]


def program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_line() -> str:
    """`NodeName=<host> CPUs=... RealMemory=...` as slurmd itself measures this machine."""
    out = subprocess.run([program("slurmd"), "-C"], capture_output=True, text=True, timeout=60, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("NodeName="))
    return line + " NodeAddr=127.0.0.1"


def start(folder: Path) -> dict[str, str]:
    """Start munged, slurmctld and slurmd with their files in `folder`; returns the environment clients need."""
    folder = Path(folder).resolve()
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    subprocess.run([program("munged"), "--force", f"--key-file={key}", f"--socket={folder}/munge.socket",
                    f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log",
                    f"--seed-file={folder}/munged.seed"], check=True, timeout=60)
    conf = folder / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=socket.gethostname().split(".")[0], dir=folder, node=node_line(),
                                      ctld_port=free_port(), slurmd_port=free_port()))
    env = {"SLURM_CONF": str(conf)}
    full = os.environ | env
    subprocess.run([program("slurmctld"), "-i"], env=full, check=True, timeout=60)
    subprocess.run([program("slurmd")], env=full, check=True, timeout=60)
    wait_idle(full, folder)
    return env


def wait_idle(env: dict[str, str], folder: Path, timeout: float = 60) -> None:
    """Until the node takes jobs (`sinfo` says idle), else raise with the daemons' last log lines."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, timeout=30)
        state = proc.stdout.strip() or proc.stderr.strip()
        if state == "idle":
            return
        time.sleep(0.5)
    logs = "\n".join(f"--- {n}.log\n" + "\n".join(read(folder / f"{n}.log").splitlines()[-15:]) for n in DAEMONS)
    raise RuntimeError(f"the SLURM node is not idle after {timeout:.0f} s (sinfo: {state!r})\n{logs}")


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def stop(folder: Path, timeout: float = 30) -> None:
    """Cancel this cluster's jobs (their processes would outlive slurmd), then end the daemons that `start`
    started in `folder`, by the pids they wrote, and wait until they are gone."""
    env = os.environ | {"SLURM_CONF": str(Path(folder).resolve() / "slurm.conf")}
    if shutil.which("scancel") and (Path(folder) / "slurm.conf").is_file():
        subprocess.run(["scancel", f"--user={os.getuid()}"], env=env, capture_output=True, timeout=60)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and subprocess.run(
                ["squeue", "--noheader", "--states=RUNNING,COMPLETING,CONFIGURING"], env=env, capture_output=True,
                text=True, timeout=60).stdout.strip():
            time.sleep(0.5)
    for name in DAEMONS:
        pidfile = Path(folder) / f"{name}.pid"
        try:
            pid = int(read(pidfile).strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: python tests/slurm/cluster.py start|stop FOLDER")
    if sys.argv[1] == "start":
        if missing():
            sys.exit(f"not installed: {', '.join(missing())} (apt-get install -y slurm-wlm munge)")
        print(f"export SLURM_CONF={start(Path(sys.argv[2]))['SLURM_CONF']}")
    else:
        stop(Path(sys.argv[2]))
