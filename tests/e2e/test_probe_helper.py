"""build/checkpointd-probe, the program of checkpointd's helper image
(src/probe/README.md): it reports what would trouble a CRIU dump of the
processes it sees, as one JSON object.

Processes that each hold one situation ("holders": a unix socket connected
to a listener of this test, a TCP connection, a pending accept, a flock, a
deleted open 2 MiB file, an inotify watch, a controlling terminal) are
started by a harness (this file run as a script), which then runs the probe:

* on the host, where the probe sees every process;
* in a new PID namespace (unshare), as in the helper container, where the
  probe sees only the harness and the holders: there the listener of this
  test is outside, so the connected unix sockets are "external"; run once
  in the holders' network namespace (exact socket peers) and once in a
  network namespace of its own (NetworkMode none: peers unknown);
* in a real helper container on the session's engine (PidMode
  container:<target>), imported from build/helper-image.tar.

For each holder the set of finding kinds must be exactly the expected one.
"""

import ctypes
import fcntl
import http.client
import json
import os
import pathlib
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = ROOT / "build" / "checkpointd-probe"
TAR = ROOT / "build" / "helper-image.tar"
VERSION_H = ROOT / "build" / "gen" / "helper_version.h"
BIG = 2 << 20
WEIRD_COMM = b'q"\\\x01\xff\xe2\x82\xac'  # q " \ ^A (not UTF-8) (euro sign)
WEIRD_FILE = b'we"ird\n\\\xff\xe2\x82\xac'
KINDS = {"unix_socket_external", "tcp_established", "tcp_in_flight", "tty", "file_lock",
         "inotify", "deleted_file", "file_bind_mount"}


# ---- run as a script: holders and the harness ----------------------------

def hold(kind, arg):
    """One holder: sets up its situation, prints one JSON line, then waits
    for its stdin to close."""
    keep, info = [], {}
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(arg)
        keep.append(s)
    elif kind == "tcp":
        s = socket.create_connection(("127.0.0.1", int(arg)))
        keep.append(s)
        info["local"] = "%s:%d" % s.getsockname()
        info["remote"] = "%s:%d" % s.getpeername()
    elif kind == "listen":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        keep.append(s)
        info["port"] = s.getsockname()[1]
    elif kind == "flock":
        f = open(arg, "w")
        fcntl.flock(f, fcntl.LOCK_EX)
        keep.append(f)
    elif kind == "deleted":
        f = open(arg, "wb")
        f.write(b"\0" * BIG)
        f.flush()
        os.unlink(arg)
        keep.append(f)
    elif kind == "inotify":
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC)
        if fd < 0 or libc.inotify_add_watch(fd, arg.encode(), 0x100) < 0:  # IN_CREATE
            raise OSError(ctypes.get_errno(), "inotify")
    elif kind == "weird":  # JSON escaping: quotes, control bytes, not UTF-8
        ctypes.CDLL(None).prctl(15, WEIRD_COMM, 0, 0, 0)  # PR_SET_NAME
        name = os.path.join(arg.encode(), WEIRD_FILE)
        f = open(name, "wb")
        f.write(b"x")
        f.flush()
        os.unlink(name)
        keep.append(f)
    elif kind == "tty":
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)  # we lead a session of our own
        keep += [master, slave]
        info["tty"] = os.ttyname(slave)
    else:
        raise SystemExit("unknown holder " + kind)
    print(json.dumps(info), flush=True)
    sys.stdin.read()


def accept_queue_filled(port):
    """Whether the listener on 127.0.0.1:port has a connection waiting."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1] == "0100007F:%04X" % port and p[3] == "0A":
                return int(p[4].split(":")[1], 16) > 0
    return False


def harness(spec):
    """Starts the holders of spec, runs the probe (once per entry of
    spec["runs"]), prints {"self": pid, "holders": {name: {pid, ...}},
    "runs": {name: {rc, out, err}}}; the holders end when it does."""
    for src, dst in spec.get("mounts", []):
        subprocess.run(["mount", "--bind", src, dst], check=True)
    holders, procs, keep = {}, [], []
    try:
        for name, kind, arg in spec["holders"]:
            p = subprocess.Popen([sys.executable, __file__, "hold", kind, str(arg)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 start_new_session=True)
            procs.append(p)
            ready, _, _ = select.select([p.stdout], [], [], 20)
            line = p.stdout.readline() if ready else b""
            if not line:
                raise SystemExit(f"holder {name} did not start")
            holders[name] = dict(json.loads(line), pid=p.pid)
            if kind == "listen":  # one connection for its accept queue
                keep.append(socket.create_connection(("127.0.0.1", holders[name]["port"])))
                deadline = time.time() + 10
                while not accept_queue_filled(holders[name]["port"]) and time.time() < deadline:
                    time.sleep(0.01)
        runs = {}
        for run, argv in spec["runs"].items():
            r = subprocess.run(argv, capture_output=True, timeout=60)
            runs[run] = {"rc": r.returncode, "out": r.stdout.decode("utf-8", "replace"),
                         "err": r.stderr.decode("utf-8", "replace")}
        print(json.dumps({"self": os.getpid(), "holders": holders, "runs": runs}), flush=True)
    finally:
        for p in procs:
            p.stdin.close()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(sys.argv[2], sys.argv[3])
    else:
        harness(json.loads(sys.argv[2]))
    sys.exit(0)


# ---- the tests ------------------------------------------------------------


class Outside:
    """A unix listener and a TCP server of the test process itself, which
    accept (and keep) every connection in a thread."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ckpt-probe-")
        self.sock = os.path.join(self.dir, "outside.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.sock)
        self.unix.listen(16)
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            ready, _, _ = select.select([self.unix, self.tcp], [], [], 0.05)
            for s in ready:
                self.conns.append(s.accept()[0])

    def close(self):
        self.stop = True
        self.thread.join()
        for s in self.conns + [self.unix, self.tcp]:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def outside():
    o = Outside()
    yield o
    o.close()


def run_harness(spec, prefix=()):
    assert PROBE.exists(), f"{PROBE} is missing: run make"
    out = subprocess.run([*prefix, sys.executable, __file__, "harness", json.dumps(spec)],
                         capture_output=True, text=True, timeout=120, start_new_session=True)
    assert out.returncode == 0, f"harness failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout)


def report(run):
    """The probe's JSON, checked for shape."""
    assert run["rc"] == 0, run
    doc = json.loads(run["out"])
    assert run["out"].endswith("}\n")
    assert doc["version"] == 1
    for key in ("processes", "unreadable", "unix_peers_unknown"):
        assert isinstance(doc[key], int) and doc[key] >= 0, key
    assert doc["truncated"] is False
    for f in doc["findings"]:
        assert f["kind"] in KINDS, f
        assert isinstance(f["pid"], int) and f["pid"] > 0, f
        assert isinstance(f["comm"], str) and isinstance(f["detail"], str) and f["detail"], f
        for key in ("path", "local", "remote", "tty"):
            assert isinstance(f.get(key, ""), str), f
        assert isinstance(f.get("fd", 0), int) and isinstance(f.get("size", 0), int), f
    return doc


def by_pid(doc, pid):
    return [f for f in doc["findings"] if f["pid"] == pid and f["kind"] != "file_bind_mount"]


def kinds(doc, pid):
    return sorted({f["kind"] for f in by_pid(doc, pid)})


def one(doc, pid, kind):
    (f,) = [f for f in by_pid(doc, pid) if f["kind"] == kind]
    return f


def test_probe_on_the_host(outside):
    d = outside.dir
    spec = {
        "holders": [
            ["unix", "unix", outside.sock],
            ["tcp", "tcp", outside.port],
            ["listen", "listen", ""],
            ["flock", "flock", f"{d}/lockfile"],
            ["deleted", "deleted", f"{d}/big"],
            ["inotify", "inotify", d],
            ["tty", "tty", ""],
            ["weird", "weird", d],
        ],
        "runs": {"host": [str(PROBE)]},
    }
    res = run_harness(spec)
    doc = report(res["runs"]["host"])
    h = {name: v["pid"] for name, v in res["holders"].items()}
    # (the host may have a process even root cannot look into: "unreadable")
    assert doc["processes"] > len(h) and doc["unreadable"] < doc["processes"]

    got = {name: kinds(doc, pid) for name, pid in h.items()}
    assert got == {
        # its peer is held by this test, which the probe sees too
        "unix": [],
        "tcp": ["tcp_established"],
        "listen": ["tcp_in_flight"],
        "flock": ["file_lock"],
        "deleted": ["deleted_file"],
        "inotify": ["inotify"],
        "tty": ["tty"],
        "weird": ["deleted_file"],
    }, json.dumps(doc["findings"], indent=1)[:6000]

    f = one(doc, h["tcp"], "tcp_established")
    assert (f["local"], f["remote"]) == (res["holders"]["tcp"]["local"],
                                         res["holders"]["tcp"]["remote"])
    assert f["remote"] == f"127.0.0.1:{outside.port}" and "ESTABLISHED" in f["detail"]
    f = one(doc, h["listen"], "tcp_in_flight")
    assert f["local"] == f"127.0.0.1:{res['holders']['listen']['port']}"
    assert "1 connection" in f["detail"]
    f = one(doc, h["flock"], "file_lock")
    assert f["path"] == f"{d}/lockfile" and "FLOCK" in f["detail"] and "WRITE" in f["detail"]
    f = one(doc, h["deleted"], "deleted_file")
    assert (f["path"], f["size"]) == (f"{d}/big", BIG)
    assert isinstance(f["fd"], int)
    assert "1 watch" in one(doc, h["inotify"], "inotify")["detail"]
    assert one(doc, h["tty"], "tty")["tty"] == res["holders"]["tty"]["tty"]
    f = one(doc, h["weird"], "deleted_file")
    assert f["comm"] == 'q"\\\x01\ufffd\u20ac'
    assert (f["path"], f["size"]) == (d + '/we"ird\n\\\ufffd\u20ac', 1)
    # the harness holds the client of "listen": established, both ends seen
    assert "tcp_established" in kinds(doc, res["self"])


def unshare_works():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mount"):
        return False
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--net", "true"],
                       capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="needs root and unshare(1)")
def test_probe_in_a_pid_namespace_sees_the_outside(outside):
    mnt = os.path.join(outside.dir, "mounted.sock")
    open(mnt, "w").close()  # where the listener's socket is bind mounted
    spec = {
        "mounts": [[outside.sock, mnt]],
        "holders": [
            ["unix", "unix", outside.sock],
            ["unix_mounted", "unix", mnt],
            ["tcp", "tcp", outside.port],
            ["deleted", "deleted", f"{outside.dir}/big"],
        ],
        "runs": {
            "same_netns": [str(PROBE)],
            "own_netns": ["unshare", "--net", str(PROBE)],  # as NetworkMode none
        },
    }
    res = run_harness(spec, prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    assert res["self"] == 1
    h = {name: v["pid"] for name, v in res["holders"].items()}

    for run in ("same_netns", "own_netns"):
        doc = report(res["runs"][run])
        assert doc["processes"] == 1 + len(h), run  # not the probe itself
        assert doc["unreadable"] == 0, run
        got = {name: kinds(doc, pid) for name, pid in h.items()}
        assert got == {
            "unix": ["unix_socket_external"],
            "unix_mounted": ["unix_socket_external"],
            "tcp": ["tcp_established"],
            "deleted": ["deleted_file"],
        }, (run, json.dumps(doc["findings"], indent=1)[:6000])
        mounts = [f for f in doc["findings"] if f["kind"] == "file_bind_mount"]
        (m,) = [f for f in mounts if f["path"] == mnt]
        assert m["pid"] == 1 and "socket" in m["detail"], m
        assert kinds(doc, 1) == []  # the harness: pipes only

    same = report(res["runs"]["same_netns"])
    assert same["unix_peers_unknown"] == 0
    for name in ("unix", "unix_mounted"):
        f = one(same, h[name], "unix_socket_external")
        assert f["path"] == outside.sock and "peer inode" in f["detail"], f

    own = report(res["runs"]["own_netns"])
    assert own["unix_peers_unknown"] == 2
    socket_mounts = {f["path"] for f in own["findings"]
                     if f["kind"] == "file_bind_mount" and "a socket" in f["detail"]}
    for name in ("unix", "unix_mounted"):
        f = one(own, h[name], "unix_socket_external")
        assert "peer is unknown" in f["detail"] and f["path"] in socket_mounts, f


# ---- in a real helper container ------------------------------------------

def engine_call(engine, method, path, body=None, ctype="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=120)
    try:
        hdrs = {"Content-Type": ctype} if body is not None else {}
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def frames(raw):
    """stdout of a GET /containers/{id}/logs answer (8-byte frame headers)."""
    out, i = b"", 0
    while i + 8 <= len(raw):
        stream, size = raw[i], struct.unpack(">I", raw[i + 4:i + 8])[0]
        if stream == 1:
            out += raw[i + 8:i + 8 + size]
        i += 8 + size
    return out


# A static client for containers: connects to the unix socket argv[1], makes
# a socketpair (both ends inside: not to be reported), says "ready", waits.
UCLIENT_C = r"""
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), sp[2];

	strncpy(a.sun_path, argc > 1 ? argv[1] : "", sizeof(a.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return 1;
	puts("ready");
	fflush(stdout);
	pause();
	return 0;
}
"""


def wait_ready(docker, cid):
    deadline = time.time() + 30
    while b"ready" not in docker.logs(cid):
        assert time.time() < deadline, docker.logs(cid)
        time.sleep(0.1)


def test_probe_in_a_helper_container(docker, outside, tmp_path):
    """As checkpointd runs it: image imported from the tar, tagged with
    HELPER_IMAGE_TAG, PidMode container:<target>; JSON read from the logs."""
    tag = re.search(r'HELPER_IMAGE_TAG "([0-9a-f]{12})"', VERSION_H.read_text()).group(1)
    image = f"checkpointd-probe:{tag}"
    status, raw = engine_call(docker, "POST", f"/images/create?fromSrc=-&repo=checkpointd-probe"
                              f"&tag={tag}", TAR.read_bytes(), "application/x-tar")
    assert status == 200 and b"errorDetail" not in raw, raw[-500:]
    assert docker.image(image)

    def probe(target, **host_config):
        _, out = docker.call("POST", "/containers/create", {
            "Image": image, "Cmd": ["/checkpointd-probe"],
            "HostConfig": {"PidMode": f"container:{target}", "NetworkMode": "none",
                           **host_config}})
        helper = out["Id"]
        docker.created.append(helper)
        docker.call("POST", f"/containers/{helper}/start")
        _, waited = docker.call("POST", f"/containers/{helper}/wait")
        assert waited["StatusCode"] == 0, docker.logs(helper)
        _, raw = engine_call(docker, "GET", f"/containers/{helper}/logs?stdout=1")
        return report({"rc": 0, "out": frames(raw).decode()})

    script = ("dd if=/dev/zero of=/tmp/big bs=1024 count=2048 2>/dev/null; exec 3</tmp/big; "
              "rm /tmp/big; echo ready; exec sleep 600")
    root = docker.run(["sh", "-c", script])
    nobody = docker.run(["sh", "-c", script], User="65534")
    (tmp_path / "uclient.c").write_text(UCLIENT_C)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(tmp_path / "uclient"),
                    str(tmp_path / "uclient.c")], check=True)
    client = docker.run(["/uclient", "/run/ext.sock"], HostConfig={"NetworkMode": "none", "Binds": [
        f"{outside.sock}:/run/ext.sock", f"{tmp_path / 'uclient'}:/uclient:ro"]})
    for target in (root, nobody, client):
        wait_ready(docker, target)

    for target, host_config in [
        (root, {}),
        (root, {"NetworkMode": f"container:{root}"}),
        (root, {"CapAdd": ["SYS_PTRACE"]}),
        (nobody, {"CapAdd": ["SYS_PTRACE"]}),
    ]:
        doc = probe(target, **host_config)
        assert doc["processes"] == 1 and doc["unreadable"] == 0, (host_config, doc)
        (f,) = doc["findings"]
        assert f["kind"] == "deleted_file" and f["comm"] == "sleep", f
        assert (f["pid"], f["path"], f["size"], f["fd"]) == (1, "/tmp/big", BIG, 3), f

    # without CAP_SYS_PTRACE another uid's fds are closed to the probe: it says so
    doc = probe(nobody)
    assert (doc["processes"], doc["unreadable"], doc["findings"]) == (1, 1, [])

    # a client of a socket bind mounted from the host; in the target's
    # network namespace the probe knows the peers: exactly that one socket
    doc = probe(client, NetworkMode=f"container:{client}", CapAdd=["SYS_PTRACE"])
    assert doc["unix_peers_unknown"] == 0
    (f,) = [f for f in doc["findings"] if f["kind"] == "unix_socket_external"]
    assert (f["pid"], f["fd"], f["comm"], f["path"]) == (1, 3, "uclient", outside.sock), f
    mounts = {f["path"]: f["detail"] for f in doc["findings"] if f["kind"] == "file_bind_mount"}
    assert set(mounts) == {"/run/ext.sock", "/uclient"}, doc
    assert "a socket" in mounts["/run/ext.sock"] and "a regular file" in mounts["/uclient"]
    # with NetworkMode none the peers are unknown: the fallback rule flags
    # every connected stream socket (here also the socketpair's two ends)
    doc = probe(client, CapAdd=["SYS_PTRACE"])
    assert doc["unix_peers_unknown"] == 3
    fds = {f["fd"] for f in doc["findings"] if f["kind"] == "unix_socket_external"}
    assert fds == {3, 4, 5}, doc
