#!/usr/bin/env python3
"""cote against Dovecot 2.3 on the same machine, same messages, same load (`make bench`).

Each workload runs on a freshly started server with a fresh copy of the same mail, alternating
A B A B (Dovecot, cote; or cote mmap_disable=no, =yes). For every window it records the wall
clock rate, the CPU time of the server's whole process tree (utime+stime of the live processes
plus cutime+cstime, which holds the processes they reaped), memory (RSS and PSS from
smaps_rollup) where sessions are held open, and the CPU that the rest of the machine used
meanwhile: a window where other processes used more than NOISY_CORES is marked, since its
wall-clock figures are not trustworthy (CPU per unit of work mostly is).

The table gives medians and ratios cote / Dovecot; results go to bench/results/.
Environment: COTE_BENCH_COTE (cote binary, default target/release/cote), COTE_BENCH_LOADGEN,
COTE_DOVECOT_ROOT (the unpacked Dovecot, see t/oracle/dovecot).
"""

import argparse
import datetime
import fcntl
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
MAIL_UID = 1000
# Other processes using more than this many cores during a window make its wall-clock rates
# untrustworthy; more than CPU_NOISY_CORES make its CPU-per-unit figures suspect too.
NOISY_CORES = 0.25
CPU_NOISY_CORES = 1.0
# Warm FETCH 1:* runs this many times in one session (CPU ticks are 10 ms).
FETCH_REPEAT = 5

PROFILES = {
    # seconds per window, rounds (A B per round), mailbox sizes, idle session counts
    "quick": dict(seconds=3, rounds=1, mix_users=50, mix_messages=30, big=5000,
                  search=1000, search_profile="small", search_repeat=3,
                  idle=[100, 300], pop3_clients=10),
    "full": dict(seconds=20, rounds=3, mix_users=50, mix_messages=100, big=100000,
                 search=10000, search_profile="mixed", search_repeat=5,
                 idle=[100, 1000], pop3_clients=10),
}


def log(text):
    print(text, file=sys.stderr, flush=True)


PORT_CLAIMS = "/tmp/cote-test-ports"
_held_port_claims = []


def free_port():
    """A loopback port below the kernel's ephemeral range (where an outgoing connection can
    take a port between our check and the server's bind), claimed by an flock that this
    process holds until it exits: the Rust tests use the same claim directory
    (tests/port_support), so no two runs pick the same port."""
    os.makedirs(PORT_CLAIMS, exist_ok=True)
    try:
        os.chmod(PORT_CLAIMS, 0o1777)
    except OSError:
        pass
    first, last = 20000, 32000
    start = (os.getpid() * 7919 + time.time_ns() // 1000) % (last - first)
    for step in range(last - first):
        port = first + (start + step) % (last - first)
        try:
            claim = open(os.path.join(PORT_CLAIMS, str(port)), "a")
        except OSError:
            continue
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            claim.close()
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                claim.close()
                continue
        _held_port_claims.append(claim)
        return port
    raise RuntimeError(f"no free loopback port in {first}..{last}")


def proc_stat(pid):
    """(ppid, pgid, own+reaped CPU ticks) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is state; ppid=1, pgrp=2, utime=11, stime=12, cutime=13, cstime=14
    return int(fields[1]), int(fields[2]), sum(int(x) for x in fields[11:15])


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def tree(root):
    """The root process and all its descendants."""
    children = {}
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat:
            children.setdefault(stat[0], []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu(root):
    """CPU seconds of a process tree, including what its members reaped."""
    total = 0
    for pid in tree(root):
        stat = proc_stat(pid)
        if stat:
            total += stat[2]
    return total / TICK


def tree_memory(root):
    """(RSS kB, PSS kB, processes) summed over a process tree."""
    rss = pss = count = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            count += 1
        except OSError:
            pass
    return rss, pss, count


def machine_busy():
    """CPU seconds all processes on the machine have used since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def own_cpu():
    """CPU seconds of this harness and its reaped children (the load generators)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Window:
    """Wall clock, server tree CPU and everyone else's CPU over one measurement."""

    def __init__(self, server, helper=None):
        self.server = server
        # A load generator still running when the window closes (not yet in RUSAGE_CHILDREN).
        self.helper = helper

    def own(self):
        return own_cpu() + (tree_cpu(self.helper) if self.helper else 0.0)

    def __enter__(self):
        self.t0 = time.monotonic()
        self.cpu0 = tree_cpu(self.server.pid)
        self.busy0 = machine_busy()
        self.own0 = self.own()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.cpu = tree_cpu(self.server.pid) - self.cpu0
        own = self.own() - self.own0
        other = machine_busy() - self.busy0 - self.cpu - own
        self.other_cores = max(other, 0.0) / max(self.wall, 1e-9)
        return False


class Server:
    """A private server (Dovecot or cote) on free loopback ports with its own root."""

    def __init__(self, kind, work, template, mmap_disable="no", mail_fsync="optimized"):
        self.kind = kind
        self.root = tempfile.mkdtemp(prefix=f"{kind}-", dir=work)
        os.chmod(self.root, 0o755)
        self.ports = {"imap": free_port(), "pop3": free_port(), "lmtp": free_port()}
        with open(os.path.join(REPO, "bench/conf/bench.conf.in")) as f:
            conf = f.read()
        for name, value in {
            "ROOT": self.root, "MAIL_FSYNC": mail_fsync, "MMAP_DISABLE": mmap_disable,
            "MAIL_UID": str(MAIL_UID), "MAIL_GID": str(MAIL_UID),
            "IMAP_PORT": str(self.ports["imap"]), "POP3_PORT": str(self.ports["pop3"]),
            "LMTP_PORT": str(self.ports["lmtp"]),
        }.items():
            conf = conf.replace(f"@{name}@", value)
        self.conf = os.path.join(self.root, "server.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        shutil.copy(os.path.join(work, "users"), os.path.join(self.root, "users"))
        mail = os.path.join(self.root, "mail")
        if template:
            copy_mail(template, mail)
        else:
            os.mkdir(mail)
        os.chown(mail, MAIL_UID, MAIL_UID)
        if kind == "dovecot":
            argv = [os.path.join(REPO, "t/oracle/dovecot"), "dovecot", "-F", "-c", self.conf]
        else:
            argv = [cote_binary(), "-F", "-c", self.conf]
        self.out = open(os.path.join(self.root, "stdout"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        self.wait_ready()
        self.listening = {proto: can_connect(port) for proto, port in self.ports.items()}

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited at start: {self.log_tail()}")
            if can_connect(self.ports["imap"]):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not listen within 30 s: {self.log_tail()}")

    def log_tail(self, lines=5):
        return log_tail(self.root, lines)

    def unavailable_reason(self, proto):
        """Why nothing listens for a protocol, from the server's own log if it says."""
        for name in ("server.log", "stdout"):
            try:
                with open(os.path.join(self.root, name), errors="replace") as f:
                    for line in f:
                        if f"protocol {proto}" in line and "not" in line:
                            return line.strip()
            except OSError:
                pass
        return f"nothing listens on the {proto.upper()} port"

    def addr(self, proto):
        return f"127.0.0.1:{self.ports[proto]}"

    def stop(self):
        """SIGTERM to the process group this harness started, then wait for all of it."""
        pgid = self.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.proc.poll()
            if not group_members(pgid):
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.out.close()


def log_tail(root, lines=5):
    """The last lines of a server's stdout and log under `root`, on one line."""
    text = ""
    for name in ("stdout", "server.log"):
        try:
            with open(os.path.join(root, name), errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return " | ".join(text.strip().splitlines()[-lines:])


def group_members(pgid):
    members = []
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[1] == pgid:
            members.append(pid)
    return members


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def copy_mail(template, mail):
    """Hard links for the (never rewritten) message files, real copies of everything a
    server may change in place (dovecot-uidlist is appended to)."""
    subprocess.run(["cp", "-al", template, mail], check=True)
    for dirpath, _dirs, files in os.walk(mail):
        for name in files:
            if not name[0].isdigit():
                path = os.path.join(dirpath, name)
                data = open(path, "rb").read()
                os.unlink(path)
                with open(path, "wb") as f:
                    f.write(data)
                os.chown(path, MAIL_UID, MAIL_UID)


def cote_binary():
    return os.environ.get("COTE_BENCH_COTE") or os.path.join(REPO, "target/release/cote")


def loadgen_binary():
    return os.environ.get("COTE_BENCH_LOADGEN") or os.path.join(REPO, "target/release/cote-loadgen")


def loadgen(work, args, stdin=None):
    """Runs the load generator; returns its JSON summary (its table goes to work/loadgen.log)."""
    with open(os.path.join(work, "loadgen.log"), "a") as errlog:
        errlog.write(f"\n$ cote-loadgen {' '.join(args)}\n")
        errlog.flush()
        done = subprocess.run([loadgen_binary()] + args, stdout=subprocess.PIPE, stderr=errlog,
                              stdin=stdin, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cote-loadgen {args[0]} failed (see {work}/loadgen.log)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_templates(work, p):
    """The mail every run starts from, generated once: `mix` (users bench1..N with mixed
    messages), `big` (one large mailbox), `search` (one mailbox for SEARCH TEXT)."""
    users = [f"bench{i}" for i in range(1, 1001)] + ["big", "search"]
    with open(os.path.join(work, "users"), "w") as f:
        for user in users:
            f.write(f"{user}:pw::::::\n")
    templates = {}
    mix = os.path.join(work, "template-mix")
    for i in range(1, p["mix_users"] + 1):
        loadgen(work, ["corpus", "--maildir", f"{mix}/bench{i}", "--count", str(p["mix_messages"]),
                       "--seed", str(i), "--profile", "mixed"])
    templates["mix"] = mix
    big = os.path.join(work, "template-big")
    loadgen(work, ["corpus", "--maildir", f"{big}/big", "--count", str(p["big"]), "--seed", "7",
                   "--profile", "small"])
    templates["big"] = big
    search = os.path.join(work, "template-search")
    loadgen(work, ["corpus", "--maildir", f"{search}/search", "--count", str(p["search"]),
                   "--seed", "11", "--profile", p["search_profile"]])
    templates["search"] = search
    for template in templates.values():
        subprocess.run(["chown", "-R", f"{MAIL_UID}:{MAIL_UID}", template], check=True)
    return templates


def outcome(window, summary, unit_command, per, extra=None):
    """One measured window: rate of `unit_command` answers (or all), CPU per `per` units."""
    if unit_command:
        row = summary["commands"].get(unit_command, {"ok": 0, "errors": 0})
        units = row["ok"]
    else:
        units = summary["ok"]
    result = {
        "units": units, "errors": summary["errors"], "wall": window.wall,
        "rate": units / window.wall if window.wall > 0 else 0.0,
        "cpu_per": cpu_ms_per(window.cpu, units, per),
        "cpu": window.cpu, "other_cores": window.other_cores,
    }
    # A command that never succeeded means the server can't do it yet: the row would measure
    # something else, so it is not reported. (SESSION counts broken connections only.)
    never = [name for name, row in summary["commands"].items()
             if row["ok"] == 0 and row["errors"] > 0 and name not in ("SESSION", "CLIENT")]
    if never:
        examples = summary["commands"][never[0]]["error_examples"]
        result["unavailable"] = f"{never[0]}: {examples[0] if examples else 'failed'}"
    elif units == 0:
        result["unavailable"] = first_error(summary) or "no successful answers"
    if extra:
        result.update(extra)
    return result


def cpu_ms_per(cpu_seconds, units, per):
    """Server CPU milliseconds per `per` units of work."""
    return cpu_seconds * 1000 * per / units if units else None


def first_error(summary):
    for name, row in summary["commands"].items():
        if row.get("error_examples"):
            return f"{name}: {row['error_examples'][0]}"
    return None


def not_available(reason):
    return {"unavailable": reason}


class Bench:
    def __init__(self, p, work, templates, only):
        self.p, self.work, self.templates, self.only = p, work, templates, only
        self.rows = []  # (row name, A label, B label, unit, per, [A results], [B results])

    def run(self, name, unit, per, variants, template, measure):
        """Runs `measure(server)` on A and B alternately, `rounds` times each."""
        if self.only and not any(word in name for word in self.only):
            return
        results = {label: [] for label, _ in variants}
        for round_no in range(self.p["rounds"]):
            for label, options in variants:
                log(f"[{name}] round {round_no + 1}: {label}")
                try:
                    server = Server(options["kind"], self.work, self.templates.get(template),
                                    mmap_disable=options.get("mmap_disable", "no"))
                except RuntimeError as err:
                    results[label].append(not_available(str(err)))
                    continue
                try:
                    results[label].append(measure(server, round_no))
                except (RuntimeError, ValueError, IndexError, KeyError) as err:
                    results[label].append(not_available(f"harness: {err}"))
                finally:
                    server.stop()
                    shutil.rmtree(server.root, ignore_errors=True)
        (a, _), (b, _) = variants
        self.rows.append((name, a, b, unit, per, results[a], results[b]))

    # --- workloads ---------------------------------------------------------------------

    def mix(self, server, round_no, mode, clients):
        summary_args = ["imap-mix", "--addr", server.addr("imap"),
                        "--users", f"bench%d:1-{clients}", "--clients", str(clients),
                        "--seconds", str(self.p["seconds"]), "--mode", mode,
                        "--seed", str(round_no + 1)]
        with Window(server) as window:
            summary = loadgen(self.work, summary_args)
        return outcome(window, summary, None, 1000)

    def fetch_all(self, server, _round_no, warm):
        """Cold: the first SELECT (no index yet) and FETCH. Warm: after a cold session, a new
        session's SELECT and FETCH_REPEAT FETCHes. Rate: messages / (SELECT + median FETCH)."""
        args = ["fetch-all", "--addr", server.addr("imap"), "--users", "big",
                "--expect", str(self.p["big"])]
        repeat = FETCH_REPEAT if warm else 1
        if warm:
            loadgen(self.work, args)
        with Window(server) as window:
            summary = loadgen(self.work, args + ["--repeat", str(repeat)])
        result = outcome(window, summary, "FETCH-1:*", 1)
        if "unavailable" not in result:
            ms = sum(summary["commands"][c]["p50_ms"] for c in ("SELECT", "FETCH-1:*"))
            result["rate"] = self.p["big"] / (ms / 1000) if ms else 0.0
            result["cpu_per"] = cpu_ms_per(window.cpu, self.p["big"] * repeat, 1000)
        return result

    def search_text(self, server, _round_no):
        args = ["search-text", "--addr", server.addr("imap"), "--users", "search",
                "--count", str(self.p["search"]), "--seed", "11",
                "--profile", self.p["search_profile"], "--repeat", str(self.p["search_repeat"])]
        with Window(server) as window:
            summary = loadgen(self.work, args)
        return outcome(window, summary, "SEARCH-TEXT", 1)

    def pop3(self, server, _round_no):
        if not server.listening["pop3"]:
            return not_available(server.unavailable_reason("pop3"))
        clients = self.p["pop3_clients"]
        args = ["pop3", "--addr", server.addr("pop3"), "--users", f"bench%d:1-{clients}",
                "--clients", str(clients), "--seconds", str(self.p["seconds"] * 3)]
        with Window(server) as window:
            summary = loadgen(self.work, args)
        return outcome(window, summary, "RETR", 1000)

    def lmtp(self, server, round_no):
        if not server.listening["lmtp"]:
            return not_available(server.unavailable_reason("lmtp"))
        args = ["lmtp", "--addr", server.addr("lmtp"), "--users", "bench%d:1-50",
                "--clients", "10", "--seconds", str(self.p["seconds"]), "--seed", str(round_no)]
        with Window(server) as window:
            summary = loadgen(self.work, args)
        return outcome(window, summary, "DELIVER", 1)

    def logins(self, server, _round_no):
        args = ["logins", "--addr", server.addr("imap"), "--users", "bench%d:1-50",
                "--clients", "10", "--seconds", str(self.p["seconds"])]
        with Window(server) as window:
            summary = loadgen(self.work, args)
        return outcome(window, summary, "LOGIN", 1)

    def idle(self, server, _round_no, sessions):
        """Total RSS/PSS of the server tree divided by the sessions held open."""
        args = [loadgen_binary(), "idle", "--addr", server.addr("imap"),
                "--users", "bench%d:1-1000", "--sessions", str(sessions)]
        with open(os.path.join(self.work, "loadgen.log"), "a") as errlog:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=errlog, text=True)
            with Window(server, helper=proc.pid) as window:
                ready = proc.stdout.readline().split()
            opened = int(ready[1]) if len(ready) == 2 and ready[0] == "READY" else 0
            time.sleep(1)  # let processes settle after the last login
            rss, pss, processes = tree_memory(server.pid)
            proc.stdin.close()
            summary = json.loads(proc.stdout.read().strip().splitlines()[-1])
            proc.wait()
        if opened < sessions:
            return not_available(first_error(summary) or f"only {opened} of {sessions} sessions")
        return {"units": opened, "errors": summary["errors"], "wall": window.wall,
                "rate": rss / opened, "pss_per": pss / opened, "processes": processes,
                "cpu_per": cpu_ms_per(window.cpu, opened, 1), "other_cores": window.other_cores}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def summarize(rows):
    """The table: medians per side and ratios B / A."""
    lines = []
    header = (f"{'workload':<40} {'unit':<16} {'A':<8} {'B':<11} {'A rate':>10} {'B rate':>10} "
              f"{'B/A':>6} {'A cpu':>9} {'B cpu':>9} {'B/A':>6} {'other':>6} trust")
    lines.append(header)
    lines.append("-" * len(header))
    table = []
    for name, a, b, unit, per, ra, rb in rows:
        entry = {"workload": name, "a": a, "b": b, "unit": unit, "cpu_per": per}
        reasons = []
        sides = {}
        for label, results in ((a, ra), (b, rb)):
            missing = [r["unavailable"] for r in results if "unavailable" in r]
            good = [r for r in results if "unavailable" not in r]
            if missing and not good:
                reasons.append(f"{label}: not available: {missing[0]}")
            sides[label] = {
                "rate": median([r["rate"] for r in good]),
                "cpu_per": median([r.get("cpu_per") for r in good]),
                "pss_per": median([r.get("pss_per") for r in good]),
                "errors": sum(r.get("errors", 0) for r in good),
                "other_cores": max([r["other_cores"] for r in good], default=None),
                "runs": results,
            }
        entry.update(sides=sides, not_available=reasons)
        sa, sb = sides[a], sides[b]
        rate_ratio = sb["rate"] / sa["rate"] if sa["rate"] and sb["rate"] else None
        cpu_ratio = sb["cpu_per"] / sa["cpu_per"] if sa["cpu_per"] and sb["cpu_per"] else None
        other = max([s["other_cores"] for s in (sa, sb) if s["other_cores"] is not None],
                    default=None)
        if other is None:
            trust = "-"
        elif other <= NOISY_CORES:
            trust = "all"
        elif other <= CPU_NOISY_CORES:
            trust = "cpu,mem"
        else:
            trust = "none"
        errors = sa["errors"] + sb["errors"]
        if errors:
            trust += f" ({sa['errors']}+{sb['errors']} errors)"
        entry.update(rate_ratio=rate_ratio, cpu_ratio=cpu_ratio, other_cores=other, trust=trust)
        table.append(entry)
        lines.append(
            f"{name:<40} {unit:<16} {a:<8} {b:<11} {fmt(sa['rate']):>10} {fmt(sb['rate']):>10} "
            f"{fmt(rate_ratio, 2):>6} {fmt(sa['cpu_per']):>9} {fmt(sb['cpu_per']):>9} "
            f"{fmt(cpu_ratio, 2):>6} {fmt(other, 2):>6} {trust}")
        if unit.startswith("RSS"):
            lines.append(f"{'':<40} {'PSS kB/session':<16} {'':<8} {'':<11} "
                         f"{fmt(sa['pss_per']):>10} {fmt(sb['pss_per']):>10}")
        for reason in reasons:
            lines.append(f"    {reason[:160]}")
    lines.append("")
    lines.append("rate: units/s (RSS rows: kB per session, lower is better); cpu: server "
                 "process-tree CPU ms per 1,000 units (per unit where the unit says /1); "
                 "other: cores used by other processes during the noisiest window; trust: "
                 f"'all' (other <= {NOISY_CORES}), 'cpu,mem' (wall rates noisy), 'none'.")
    return "\n".join(lines), table


def git_commit():
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def binary_identity(path):
    """`--version` and sha256 of a binary: the results say which build ran."""
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except (OSError, subprocess.SubprocessError) as err:
        return {"path": path, "error": str(err)}
    return {"path": path, "version": version, "sha256": digest}


def machine():
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "memory_mb": mem_kb // 1024, "cpu": model,
            "kernel": os.uname().release}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every workload briefly")
    parser.add_argument("--only", action="append", default=[],
                        help="run workloads whose name contains this (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--results", default=os.path.join(REPO, "bench/results"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/harness.py: needs root (private Dovecot in a mount namespace, "
                 "mail owned by uid 1000)")
    profile_name = "quick" if args.quick else "full"
    p = PROFILES[profile_name]
    for binary in (cote_binary(), loadgen_binary()):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench/harness.py: {binary} missing; run make bench (it builds it)")
    # 1,000 sessions need descriptors in both the load generator and the server.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="cote-bench-")
    os.chmod(work, 0o755)
    started = datetime.datetime.now(datetime.timezone.utc)
    log(f"work directory {work}; profile {profile_name}; cote {cote_binary()}")
    try:
        templates = make_templates(work, p)
        bench = Bench(p, work, templates, args.only)
        dc = [("dovecot", {"kind": "dovecot"}), ("cote", {"kind": "cote"})]
        mmap = [("cote", {"kind": "cote", "mmap_disable": "no"}),
                ("cote-mmap", {"kind": "cote", "mmap_disable": "yes"})]
        for mode in ("churn", "persistent"):
            for clients in (10, 50):
                bench.run(f"imap mix {mode} {clients} clients", "commands/s", 1000, dc, "mix",
                          lambda s, r, m=mode, c=clients: bench.mix(s, r, m, c))
        big = f"{p['big']:,}"
        bench.run(f"SELECT+FETCH 1:* {big} cold", "messages/s", 1000, dc, "big",
                  lambda s, r: bench.fetch_all(s, r, warm=False))
        bench.run(f"SELECT+FETCH 1:* {big} warm", "messages/s", 1000, dc, "big",
                  lambda s, r: bench.fetch_all(s, r, warm=True))
        bench.run(f"SEARCH TEXT on {p['search']:,}", "searches/s", 1, dc, "search",
                  bench.search_text)
        bench.run("POP3 download+delete", "messages/s", 1000, dc, "mix", bench.pop3)
        bench.run("LMTP deliveries", "deliveries/s", 1, dc, None, bench.lmtp)
        bench.run("IMAP logins", "logins/s", 1, dc, None, bench.logins)
        for sessions in p["idle"]:
            bench.run(f"idle IMAP sessions {sessions}", "RSS kB/session", 1, dc, None,
                      lambda s, r, n=sessions: bench.idle(s, r, n))
        bench.run("mmap_disable: imap mix persistent 10", "commands/s", 1000, mmap, "mix",
                  lambda s, r: bench.mix(s, r, "persistent", 10))
        bench.run(f"mmap_disable: FETCH 1:* {big} warm", "messages/s", 1000, mmap, "big",
                  lambda s, r: bench.fetch_all(s, r, warm=True))
        text, table = summarize(bench.rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    meta = {"date": started.isoformat(timespec="seconds"), "profile": profile_name,
            "seconds": round((finished - started).total_seconds()), "commit": git_commit(),
            "cote": binary_identity(cote_binary()), "machine": machine(), "settings": p,
            "config": "bench/conf/bench.conf.in (same file for both servers)"}
    heading = (f"cote bench ({profile_name}) {meta['date']} commit {meta['commit'][:12]} "
               f"cores {meta['machine']['cores']} memory {meta['machine']['memory_mb']} MB "
               f"({meta['seconds']} s)\nA/B: Dovecot 2.3 vs cote, or cote mmap_disable=no "
               f"vs yes (cote-mmap)\n")
    print(heading + text)
    os.makedirs(args.results, exist_ok=True)
    stem = os.path.join(args.results, f"{started.strftime('%Y%m%dT%H%M%SZ')}-{profile_name}")
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "rows": table}, f, indent=1)
    with open(stem + ".txt", "w") as f:
        f.write(heading + text + "\n")
    log(f"results: {stem}.txt and .json")


if __name__ == "__main__":
    main()
