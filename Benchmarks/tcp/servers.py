"""What bench.py and checks.py share: a loopback port free for UDP and TCP, and stopping a
server's whole process group (SIGTERM, then SIGKILL after 5 s)."""
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
