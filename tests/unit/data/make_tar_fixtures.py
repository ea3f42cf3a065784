#!/usr/bin/python3
"""make_tar_fixtures.py - regenerates the tar fixtures of tests/unit/test_tar.c.

    /usr/bin/python3 tests/unit/data/make_tar_fixtures.py

Writes, next to this script:
  gnu.tar        GNU tar --format=gnu (GNU 'L'/'K' long names), default
                 blocking, so 10 KiB with zero padding after the end marker
  gnu_pax.tar    GNU tar --format=pax ('x' records for long names/targets)
  gnu_ustar.tar  GNU tar --format=ustar (long path split into prefix/name)
  py_pax.tar     Python tarfile PAX_FORMAT: a 'g' global header, 'x' records
                 (long name, UTF-8 name, per-entry record), hard link, fifo,
                 character device, contiguous ('7') and old-style ('\\0') files
  py_gnu.tar     Python tarfile GNU_FORMAT: 'L' and 'K' records
  py_ustar.tar   Python tarfile USTAR_FORMAT
and prints, for each, the counts test_tar.c expects (regular files and the
sum of their sizes, as Python's tarfile reads them).  File contents are
never zeros, so a reader that skips wrongly lands on a bad checksum rather
than on something that looks like the end of the archive.
"""
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def content(n, seed):
    return bytes((33 + (i * 7 + seed) % 90) for i in range(n))


def write(path, n, seed):
    with open(path, "wb") as f:
        f.write(content(n, seed))


def make_tree(root):
    d = os.path.join(root, "d")
    os.makedirs(os.path.join(d, "sub", "D" * 60))
    for name, n in (("empty", 0), ("one", 1), ("b511", 511), ("b512", 512),
                    ("b513", 513), ("b1024", 1024)):
        write(os.path.join(d, name), n, n)
    write(os.path.join(d, "sub", "D" * 60, "F" * 80), 300, 3)
    os.link(os.path.join(d, "b513"), os.path.join(d, "hard"))
    os.symlink("one", os.path.join(d, "link"))
    # Only for formats with long names: a 120-character file name and a
    # 150-character symlink target.
    write(os.path.join(d, "N" * 120), 700, 7)
    os.symlink("T" * 150, os.path.join(d, "longlink"))


def gnu_tar(root, out, fmt, blocking, extra=()):
    cmd = ["tar", "--format=" + fmt, "--sort=name", "--owner=0", "--group=0",
           "--numeric-owner", "--mtime=@1700000000", "-b", str(blocking),
           "-cf", out, "-C", root]
    if fmt == "pax":
        cmd.append("--pax-option=exthdr.name=%d/PaxHeaders/%f,"
                   "delete=atime,delete=ctime")
    cmd += list(extra) + ["d"]
    subprocess.run(cmd, check=True)


def ti(name, type_=tarfile.REGTYPE, size=0, **kw):
    t = tarfile.TarInfo(name)
    t.type = type_
    t.size = size
    t.mtime = 1700000000
    t.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def py_tar(out, fmt, entries, **kw):
    old = tarfile.RECORDSIZE
    tarfile.RECORDSIZE = 512  # no padding past the end marker
    try:
        with tarfile.open(out, "w", format=fmt, **kw) as tf:
            for t, data in entries:
                tf.addfile(t, io.BytesIO(data) if data is not None else None)
    finally:
        tarfile.RECORDSIZE = old


def reg(name, n, seed, type_=tarfile.REGTYPE, **kw):
    return ti(name, type_, n, **kw), content(n, seed)


def py_fixtures():
    long_name = "p/" + "L" * 150
    pax = [
        (ti("p/", tarfile.DIRTYPE), None),
        reg("p/a", 100, 1),
        reg(long_name, 1000, 2),
        reg("p/\u00fcml\u00e4ut", 513, 3),
        reg("p/with-record", 512, 4, pax_headers={"comment": "per-entry"}),
        (ti("p/sym", tarfile.SYMTYPE, linkname="a"), None),
        (ti("p/hard", tarfile.LNKTYPE, linkname="p/a"), None),
        (ti("p/fifo", tarfile.FIFOTYPE), None),
        (ti("p/tty", tarfile.CHRTYPE, devmajor=4, devminor=1), None),
        reg("p/contig", 77, 5, type_=tarfile.CONTTYPE),
        reg("p/old", 1536, 6, type_=tarfile.AREGTYPE),
        reg("p/empty", 0, 0),
    ]
    py_tar(os.path.join(HERE, "py_pax.tar"), tarfile.PAX_FORMAT, pax,
           pax_headers={"comment": "checkpointd fixture"})
    gnu = [
        (ti("g/", tarfile.DIRTYPE), None),
        reg("g/" + "L" * 200, 1025, 7),
        (ti("g/sym", tarfile.SYMTYPE, linkname="T" * 180), None),
        (ti("g/hard", tarfile.LNKTYPE, linkname="g/" + "L" * 200), None),
        reg("g/small", 10, 8),
    ]
    py_tar(os.path.join(HERE, "py_gnu.tar"), tarfile.GNU_FORMAT, gnu)
    ustar = [
        (ti("u/", tarfile.DIRTYPE), None),
        reg("u/x", 511, 9),
        reg("u/y", 2048, 10),
        (ti("u/s", tarfile.SYMTYPE, linkname="x"), None),
    ]
    py_tar(os.path.join(HERE, "py_ustar.tar"), tarfile.USTAR_FORMAT, ustar)


def main():
    tmp = tempfile.mkdtemp()
    try:
        make_tree(tmp)
        gnu_tar(tmp, os.path.join(HERE, "gnu.tar"), "gnu", 20)
        gnu_tar(tmp, os.path.join(HERE, "gnu_pax.tar"), "pax", 1)
        gnu_tar(tmp, os.path.join(HERE, "gnu_ustar.tar"), "ustar", 1,
                ["--exclude=" + "N" * 120, "--exclude=longlink"])
    finally:
        shutil.rmtree(tmp)
    py_fixtures()
    for name in ("gnu.tar", "gnu_pax.tar", "gnu_ustar.tar", "py_pax.tar",
                 "py_gnu.tar", "py_ustar.tar"):
        path = os.path.join(HERE, name)
        with tarfile.open(path) as tf:
            members = tf.getmembers()
        files = [m for m in members if m.isreg()]
        print("%-14s %6d bytes  files=%d file_bytes=%d members=%d"
              % (name, os.path.getsize(path), len(files),
                 sum(m.size for m in files), len(members)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
