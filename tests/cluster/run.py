#!/usr/bin/env python3
"""The two-node cluster test (issue 8): two servers on two FUSE mounts of one GlusterFS
volume serve the same users from one Maildir (indexes included) while cote-loadgen drives
LMTP, IMAP and POP3 through both at random; then cote-loadgen's checker proves the
invariants from the journals, once as the servers stand and once more after every
cote.index* file was deleted and both restarted.

    tests/cluster/run.py [--profile coherent|cto|cached] [--lock fcntl|flock|dotlock]
        [--mmap-disable yes|no] [--nfs yes|no] [--seconds 60] [--workers 8] [--users 2]
        [--crash none|node|client] [--skew SECONDS] [--servers cote,cote|dovecot,cote]
        [--json FILE]
    tests/cluster/run.py --matrix [--matrix-profiles cto,cached] [--seconds 30] [--json FILE]
        every cell (of those profiles), a table

Needs root, /dev/fuse and ../shared/sharedfs-setup.sh (SHAREDFS_SETUP overrides the path);
COTE_CLUSTER_KEEP_LOGS=1 keeps journals and server logs of passing runs too;
`make test-cluster` runs one quick cell, `make test-cluster-matrix` all of them.
Exit status: 0 all invariants held, 1 a violation, 77 the environment can't run it."""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.environ.get("SHAREDFS_SETUP", os.path.join(REPO, "..", "shared", "sharedfs-setup.sh"))
MOUNTS = ["/mnt/g1", "/mnt/g2"]
sys.path.insert(0, os.path.join(REPO, "bench"))
from harness import can_connect, free_port, log_tail  # noqa: E402  (the bench's own helpers)
MAIL_USER = "nobody"
SKIP = 77


def log(text):
    print(f"cluster: {text}", file=sys.stderr, flush=True)


def sharedfs(profile):
    """Brings the volume up with `profile`; None when this machine can't (the reason)."""
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if not os.path.exists(SETUP):
        return f"{SETUP} not found"
    env = dict(os.environ, SHAREDFS_PROFILE=profile, SHAREDFS_MOUNTS=" ".join(MOUNTS))
    r = subprocess.run(["bash", SETUP, "up"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return "sharedfs-setup.sh up failed: " + " | ".join(r.stderr.strip().splitlines()[-3:])
    return None


CONF = """\
base_dir = {root}/run
state_dir = {root}/lib
log_path = {root}/server.log
listen = 127.0.0.1
protocols = imap pop3 lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{store}/%u
mail_fsync = {fsync}
mmap_disable = {mmap_disable}
lock_method = {lock}
mail_nfs_storage = {nfs}
mail_nfs_index = {nfs}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
default_vsz_limit = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={store}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
"""


class Node:
    """One server (cote or Dovecot) on its own ports and base_dir, over one mount."""

    def __init__(self, name, kind, work, store, settings, users, skew):
        self.name, self.kind, self.skew = name, kind, skew
        self.root = os.path.join(work, name)
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.ports = {"imap": free_port(), "pop3": free_port(), "lmtp": free_port()}
        import pwd
        pw = pwd.getpwnam(MAIL_USER)
        conf = CONF.format(root=self.root, store=store, uid=pw.pw_uid, gid=pw.pw_gid,
                           **settings, **self.ports)
        self.conf = os.path.join(self.root, "server.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        with open(os.path.join(self.root, "users"), "w") as f:
            f.writelines(f"{u}:{{PLAIN}}pw\n" for u in users)
        self.proc = None

    def start(self):
        if self.kind == "dovecot":
            argv = [os.path.join(REPO, "t/oracle/dovecot"), "dovecot", "-F", "-c", self.conf]
        else:
            argv = [os.path.join(REPO, "target/release/cote"), "-F", "-c", self.conf]
        env = dict(os.environ, DOVECOT_HOSTNAME=f"{self.name}.cluster.test")
        if self.skew:
            # libfaketime preloaded into the server itself: the `faketime` wrapper forks and
            # waits, so signals for the server would stop only the wrapper.
            libs = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
            if not libs:
                raise RuntimeError("libfaketime is not installed (apt install faketime)")
            env.update(LD_PRELOAD=libs[0], FAKETIME=f"+{self.skew}s")
        self.out = open(os.path.join(self.root, "stdout"), "a")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} ({self.kind}) exited at start: {self.log_tail()}")
            if all(can_connect(p) for p in self.ports.values()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within 30 s: {self.log_tail()}")

    def log_tail(self, lines=6):
        return log_tail(self.root, lines)

    def errors(self):
        """Error and panic lines of its log."""
        out = []
        for name in ("stdout", "server.log"):
            try:
                with open(os.path.join(self.root, name), errors="replace") as f:
                    out += [l.rstrip() for l in f if "Error:" in l or "Panic:" in l or "Fatal:" in l]
            except OSError:
                pass
        return out

    def spec(self):
        p = self.ports
        return f"127.0.0.1:{p['imap']},127.0.0.1:{p['pop3']},127.0.0.1:{p['lmtp']}"

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        try:
            # SIGTERM to the master (it stops its children itself); SIGKILL to everyone.
            if sig == signal.SIGTERM:
                os.kill(self.proc.pid, sig)
            else:
                os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.1)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        # Workers of the group that outlived the master: a process blocked in a FUSE request
        # dies only when the request ends, and keeps its inherited listeners until then.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(port_free(p) for p in self.ports.values()):
            time.sleep(0.2)
        self.proc = None
        self.out.close()


def port_free(port):
    """Whether a listener could bind 127.0.0.1:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def loadgen(args, timeout):
    exe = os.path.join(REPO, "target/release/cote-loadgen")
    r = subprocess.run([exe] + args, capture_output=True, text=True, timeout=timeout)
    return r


def remove_indexes(store):
    removed = 0
    for dirpath, _dirs, files in os.walk(store):
        for f in files:
            if f.startswith("cote.index") or f.startswith("dovecot.index"):
                os.unlink(os.path.join(dirpath, f))
                removed += 1
    return removed


def run_cell(a, work):
    """One run; returns a result dict."""
    cell = {"profile": a.profile, "lock": a.lock, "mmap_disable": a.mmap_disable, "nfs": a.nfs,
            "servers": a.servers, "crash": a.crash, "skew": a.skew, "seconds": a.seconds}
    reason = sharedfs(a.profile)
    if reason:
        cell["skipped"] = reason
        return cell
    tag = f"cote-cluster-{os.getpid()}-{int(time.time() * 1000)}"
    stores = [os.path.join(m, tag) for m in MOUNTS]
    os.makedirs(stores[0])
    import pwd
    pw = pwd.getpwnam(MAIL_USER)
    os.chown(stores[0], pw.pw_uid, pw.pw_gid)
    # The other mount must see the directory before its node starts.
    deadline = time.monotonic() + 30
    while not os.path.isdir(stores[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    users = [f"cu{n}" for n in range(1, a.users + 1)]
    settings = {"lock": a.lock, "mmap_disable": a.mmap_disable, "nfs": a.nfs,
                "fsync": "always" if a.nfs == "yes" else "optimized"}
    kinds = a.servers.split(",")
    nodes = [Node(f"node{i + 1}", kinds[i], work, stores[i], settings, users,
                  a.skew if i == 1 else 0) for i in range(2)]
    journal = os.path.join(work, "journal")
    spec = ";".join(n.spec() for n in nodes)
    common = ["--nodes", spec, "--users", ",".join(users), "--password", "pw", "--timeout", "60"]
    try:
        for n in nodes:
            n.start()
        load = subprocess.Popen(
            [os.path.join(REPO, "target/release/cote-loadgen"), "cluster-load", *common,
             "--workers", str(a.workers), "--seconds", str(a.seconds), "--journal", journal,
             "--seed", str(a.seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if a.crash != "none":
            time.sleep(a.seconds / 2)
            victim = nodes[1]
            if a.crash == "node":
                log(f"SIGKILL to all of {victim.name}")
                victim.stop(signal.SIGKILL)
                time.sleep(2)
                victim.start()
            else:
                env = dict(os.environ, SHAREDFS_MOUNTS=" ".join(MOUNTS), SHAREDFS_PROFILE=a.profile)
                pid = subprocess.run(["bash", SETUP, "clientpid", MOUNTS[1]], env=env,
                                     capture_output=True, text=True).stdout.strip()
                log(f"SIGKILL to the FUSE client of {MOUNTS[1]} (pid {pid})")
                if pid:
                    os.kill(int(pid), signal.SIGKILL)
                time.sleep(2)
                subprocess.run(["bash", SETUP, "remount", MOUNTS[1]], env=env,
                               capture_output=True, text=True)
                victim.stop()
                victim.start()
        out, err = load.communicate(timeout=a.seconds + 600)
        cell["load"] = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
        if load.returncode != 0:
            cell["error"] = f"load driver failed: {err.strip().splitlines()[-1:]}"
            return cell
        check = loadgen(["cluster-check", *common, "--journal", journal, "--settle", "40"], 900)
        cell["check"] = json.loads(check.stdout.strip().splitlines()[-1]) if check.stdout.strip() else None
        cell["check_log"] = check.stderr.strip().splitlines()[-20:]
        # Again after every index file is gone: the store alone must tell the same.
        for n in nodes:
            n.stop()
        cell["indexes_removed"] = remove_indexes(stores[0])
        for n in nodes:
            n.start()
        again = loadgen(["cluster-check", *common, "--journal", journal, "--settle", "40"], 900)
        cell["check_rebuilt"] = (json.loads(again.stdout.strip().splitlines()[-1])
                                 if again.stdout.strip() else None)
        cell["check_rebuilt_log"] = again.stderr.strip().splitlines()[-20:]
        cell["server_errors"] = sum(len(n.errors()) for n in nodes)
        cell["server_error_examples"] = [e for n in nodes for e in n.errors()][:5]
        cell["ok"] = check.returncode == 0 and again.returncode == 0
        if not cell["ok"] or os.environ.get("COTE_CLUSTER_KEEP_LOGS"):
            kept = tempfile.mkdtemp(prefix="cote-cluster-failed-" if not cell["ok"] else "cote-cluster-kept-")
            shutil.copytree(journal, os.path.join(kept, "journal"))
            for n in nodes:
                for name in ("server.log", "stdout"):
                    if os.path.exists(os.path.join(n.root, name)):
                        shutil.copy(os.path.join(n.root, name), os.path.join(kept, f"{n.name}.{name}"))
            if os.environ.get("COTE_CLUSTER_KEEP_STORE"):
                shutil.copytree(stores[0], os.path.join(kept, "store"), symlinks=True)
            cell["kept"] = kept
            # The checkers' own words, for a failure examined later.
            with open(os.path.join(kept, "cell.json"), "w") as f:
                json.dump(cell, f, indent=1)
            log(f"journals and server logs kept in {kept}")
        return cell
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(stores[0], ignore_errors=True)


def summary_line(cell):
    if "skipped" in cell:
        return f"skipped: {cell['skipped']}"
    if "error" in cell:
        return f"ERROR {cell['error']}"
    load = cell.get("load") or {}
    check = cell.get("check") or {}
    rebuilt = cell.get("check_rebuilt") or {}
    ops = check.get("acknowledged_operations", 0)
    rate = ops / max(cell["seconds"], 1)
    return (f"{'ok' if cell.get('ok') else 'FAILED'}: {ops} acknowledged ops ({rate:.0f}/s), "
            f"failures {check.get('failures')} / after index removal {rebuilt.get('failures')}, "
            f"findings {check.get('findings')}, server errors {cell.get('server_errors')}")


def matrix(a, work):
    cells = []
    for profile in a.matrix_profiles.split(","):
        for lock in ("fcntl", "flock", "dotlock"):
            # coherent: mmap(MAP_SHARED) fails there, so only mmap_disable=yes.
            for mmap_disable in (("yes",) if profile == "coherent" else ("yes", "no")):
                for nfs in ("no", "yes"):
                    if nfs == "yes" and mmap_disable == "no":
                        continue  # mail_nfs_index requires mmap_disable=yes
                    cells.append((profile, lock, mmap_disable, nfs))
    results = []
    for profile, lock, mmap_disable, nfs in cells:
        a.profile, a.lock, a.mmap_disable, a.nfs = profile, lock, mmap_disable, nfs
        cell_work = tempfile.mkdtemp(prefix="cell-", dir=work)
        os.chmod(cell_work, 0o755)  # the servers' unprivileged processes read under it
        cell = run_cell(a, cell_work)
        log(f"{profile:8} {lock:7} mmap_disable={mmap_disable:3} nfs={nfs:3} {summary_line(cell)}")
        results.append(cell)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cto", choices=["coherent", "cto", "cached"])
    p.add_argument("--lock", default="fcntl", choices=["fcntl", "flock", "dotlock"])
    p.add_argument("--mmap-disable", default="yes", choices=["yes", "no"])
    p.add_argument("--nfs", default="no", choices=["yes", "no"])
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--users", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--crash", default="none", choices=["none", "node", "client"])
    p.add_argument("--skew", type=int, default=0)
    p.add_argument("--servers", default="cote,cote")
    p.add_argument("--matrix", action="store_true")
    p.add_argument("--matrix-profiles", default="coherent,cto,cached",
                   help="the profiles --matrix runs, comma-separated")
    p.add_argument("--json")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="cote-cluster-")
    os.chmod(work, 0o755)
    try:
        if a.matrix:
            results = matrix(a, work)
        else:
            results = [run_cell(a, work)]
            log(summary_line(results[0]))
            for line in (results[0].get("check_log") or []) + (results[0].get("check_rebuilt_log") or []):
                log("  " + line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if all("skipped" in c for c in results):
        log(f"not run: {results[0]['skipped']}")
        return SKIP
    return 0 if all(c.get("ok") or "skipped" in c for c in results) else 1


if __name__ == "__main__":
    sys.exit(main())
