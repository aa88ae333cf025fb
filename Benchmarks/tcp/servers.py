"""What the TCP and RPC benchmarks and checks.py share: a loopback port free for UDP and TCP,
stopping a server's whole process group (SIGTERM, then SIGKILL after 5 s), and the CPU that
group has used."""
import os, signal, socket, subprocess


def free_port():
    """A port on 127.0.0.1 free a moment ago for both UDP and TCP."""
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()


def stop_group(proc):
    """Stops the process group `proc` leads (started with start_new_session=True)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def group_cpu_ns(pgid):
    """CPU nanoseconds used so far by every process of group `pgid` (schedstat)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ProcessLookupError):
            continue
    return total
