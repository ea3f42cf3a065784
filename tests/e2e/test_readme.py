"""The README's examples work as written: every ```sh block of its "Using
it" section runs, in order, in one bash with `set -e`, against a real
service and engines, Docker and Podman (only the ports are changed to the
test's)."""

import pathlib
import re
import subprocess

from conftest import ROOT, Service


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_readme_examples_run(engine, docker, podman_engine, tmp_path):
    blocks = readme_blocks()
    assert len(blocks) >= 8, "the README lost its examples"
    svc = Service([("default", engine.url), ("podman", podman_engine.url)])
    script = "set -euo pipefail\n" + "\n".join(blocks)
    script = script.replace("127.0.0.1:8780", f"127.0.0.1:{svc.port}")
    script = script.replace("127.0.0.1:2375", f"127.0.0.1:{engine.port}")
    script = script.replace("127.0.0.1:8888", f"127.0.0.1:{podman_engine.port}")
    path = tmp_path / "readme.sh"
    path.write_text(script)
    try:
        out = subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"README examples failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        # what they did is real: the clone runs and continues the count
        clone = docker.inspect("demo-clone")
        assert clone and clone["State"]["Running"] is True
        pclone = podman_engine.inspect("pdemo-clone")
        assert pclone and pclone["State"]["Running"] is True
        assert "304" in out.stdout
    finally:
        svc.close()
        _, cs = docker.call("GET", '/containers/json?all=1&filters={"label":["io.checkpointd.restore"]}')
        for c in cs:
            docker.call("DELETE", f"/containers/{c['Id']}?force=1", ok=None)
        docker.call("DELETE", "/containers/demo?force=1", ok=None)
        docker.call("DELETE", "/containers/app?force=1", ok=None)
        for name in ("pdemo", "pdemo-clone"):
            podman_engine.call("DELETE", f"/containers/{name}?force=1", ok=None)
