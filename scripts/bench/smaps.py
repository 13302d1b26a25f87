#!/usr/bin/env python3
"""Breakdown of a held-state run's memory by process and mapping class, from the smaps files
the held section writes with BENCH_HELD_SMAPS=dir (dir/<target>/<phase>-<pid>.smaps).

    scripts/bench/smaps.py /tmp/smaps/ours [phase]

Per process (main, worker, engine = the one mapping libgopresence.so) and per class: Kamailio
shm (the MAP_SHARED /dev/zero pool: PSS splits it among the processes that touched it), pkg and
malloc ([heap] and anonymous private mappings outside the engine), the engine's anonymous
mappings (Go heap, runtime, cgo/SQLite malloc; there is no telling them apart from smaps),
SQLite's -shm file, code and data of libraries. Values: PSS and RSS in KiB."""
import glob
import os
import re
import sys

HDR = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


def classify(name, perms, engine):
    if name == "/dev/zero (deleted)" or name.startswith("/SYSV"):
        return "kamailio shm"
    if name.endswith("-shm"):
        return "sqlite -shm file"
    if name == "[heap]":
        return "engine [heap] (C malloc)" if engine else "[heap] (pkg, malloc)"
    if name == "" and perms[3] == "p":
        return "engine anon (Go heap+runtime, C mmap)" if engine else "anon private (pkg, malloc)"
    if name == "[stack]" or name.startswith("[stack"):
        return "stacks"
    if name.startswith("/"):
        return "code+data " + os.path.basename(name).split(".so")[0]
    return "other " + name


def parse(path):
    engine = False
    out = {}
    cur = None
    with open(path) as f:
        for line in f:
            if line.startswith("# pid"):
                engine = "engine=true" in line
                cpu = re.search(r"cpu=(\S+)", line)
                out["cpu"] = cpu.group(1) if cpu else "?"
                continue
            m = HDR.match(line)
            if m:
                cur = classify(m.group(4).strip(), m.group(3), engine)
                out.setdefault(cur, [0, 0])
                continue
            if cur and line.startswith("Pss:"):
                out[cur][0] += int(line.split()[1])
            elif cur and line.startswith("Rss:"):
                out[cur][1] += int(line.split()[1])
    return engine, out


def main():
    d = sys.argv[1]
    phases = sys.argv[2:] or sorted({os.path.basename(p).split("-")[0] for p in glob.glob(d + "/*.smaps")})
    for phase in phases:
        files = sorted(glob.glob(f"{d}/{phase}-*.smaps"), key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
        total = {}
        print(f"== {phase}: {len(files)} processes")
        for i, p in enumerate(files):
            engine, m = parse(p)
            cpu = m.pop("cpu", "?")
            role = "engine" if engine else ("main" if i == 0 else "proc")
            pss = sum(v[0] for v in m.values())
            top = sorted(m.items(), key=lambda kv: -kv[1][0])[:4]
            print(f"  {role:6} pid {os.path.basename(p).split('-')[1].split('.')[0]:>7}  PSS {pss/1024:7.1f} MiB, CPU {cpu}: "
                  + ", ".join(f"{k} {v[0]/1024:.1f}" for k, v in top))
            for k, v in m.items():
                t = total.setdefault(k, [0, 0])
                t[0] += v[0]
                t[1] += v[1]
        print(f"  all classes (PSS MiB, RSS MiB), sum {sum(v[0] for v in total.values())/1024:.1f} MiB PSS:")
        for k, v in sorted(total.items(), key=lambda kv: -kv[1][0]):
            if v[0] >= 512:
                print(f"    {k:45} {v[0]/1024:8.1f} {v[1]/1024:8.1f}")


if __name__ == "__main__":
    main()
