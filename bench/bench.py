"""Benchmarks on the test bed: the automation against the bare commands, side by side.

    make bench                                  # everything (about 35 minutes)
    .venv/bin/python bench/bench.py --only seeder,per_task --reps 3

Every comparison runs in the same session, interleaved A B A B, and reports medians. Results go
to bench/RESULTS.md and the scaling chart to bench/scaling.png. Nothing here is a test: goals are
reported as met or missed, never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "faults"))
os.environ.setdefault("TASC_FAULTS_HOST", "bench-droplet")
os.environ.setdefault("TASC_FAULTS_SSH_PORT", "2228")
import faultbed  # noqa: E402  (the fault suite's droplet test host and its helpers)
from faultbed import APP_DIR, BACKUP_DIR, COMPOSE, ORIGIN  # noqa: E402

ROWS: list[dict] = []
SCALING: dict[str, dict[int, float]] = {}
# Every run merges into this file, benchmark by benchmark, so `--only x` refreshes x and keeps
# the others' last figures (each says when it was measured). RESULTS.md is rendered from it.
STORE = BENCH / "results.json"
CURRENT = {"name": ""}
FULL_DEMO = "--with-catalogue --with-enrollments --with-progress --with-certificates"


# ------------------------------------------------------------------------------------ helpers


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def interleave(a, b, reps: int, before_each=None) -> tuple[list[float], list[float]]:
    """A B A B ...: drift on a noisy machine hits both sides alike."""
    times_a, times_b = [], []
    for _ in range(reps):
        for action, times in ((a, times_a), (b, times_b)):
            if before_each:
                before_each()
            times.append(timed(action))
    return times_a, times_b


def row(
    benchmark: str,
    measure: str,
    a: str,
    b: str = "",
    ratio: str = "",
    goal: str = "",
    met: bool | None = None,
) -> None:
    ROWS.append(
        {
            "name": CURRENT["name"],
            "benchmark": benchmark,
            "measure": measure,
            "a": a,
            "b": b,
            "ratio": ratio,
            "goal": goal,
            "met": "" if met is None else ("met" if met else "MISSED"),
        }
    )
    print(
        f"  {benchmark} | {measure} | {a} | {b} | {ratio} | {goal} | {ROWS[-1]['met']}", flush=True
    )


class StepFailed(RuntimeError):
    """A command a benchmark needs failed: that benchmark is reported failed, the others run."""


def check(done: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if done.returncode != 0:
        raise StepFailed(
            f"{what} failed ({done.returncode}):\n{(done.stdout or '')[-3000:]}"
            f"\n{(done.stderr or '')[-2000:]}"
        )
    return done


class Bench:
    def __init__(self, reps: int):
        self.reps = reps
        self.host = faultbed.bring_up()
        args = subprocess.run(
            [
                sys.executable,
                str(REPO / "tests" / "testbed" / "testbed.py"),
                "host",
                "ssh-args",
                faultbed.HOST,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.ssh = ["ssh", *args, "deploy@127.0.0.1"]

    def ssh_run(self, command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return check(
            subprocess.run(
                [*self.ssh, command], input=stdin, capture_output=True, text=True, check=False
            ),
            f"ssh {command}",
        )

    def deploy(self) -> None:
        check(self.host.play("playbooks/deploy_staging.yml"), "deploy_staging.yml")

    def deploy_by_hand(self) -> None:
        # Copied first, then run as a file: fed to `bash -s`, its `docker compose exec` lines
        # would swallow the rest of the script from stdin (and "finish" in under a second).
        if not getattr(self, "_script_copied", False):
            self.ssh_run("cat > /tmp/deploy_by_hand.sh", (BENCH / "deploy_by_hand.sh").read_text())
            self._script_copied = True
        self.ssh_run("sudo bash /tmp/deploy_by_hand.sh")

    def seed_size(self, scale: int) -> None:
        learners = 50 * scale
        self.host.manage(f"seed_staging --reset {FULL_DEMO} --learners {learners}")

    def new_commit(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            self.host.push(Path(tmp), message="bench one-file change")


# ----------------------------------------------------------------------------- benchmarks


def bench_full_deploy(b: Bench) -> None:
    """1. deploy_staging.yml vs the five commands, after a one-file commit each time."""
    a, s = interleave(b.deploy, b.deploy_by_hand, b.reps, before_each=b.new_commit)
    ratio = median(a) / median(s)
    row(
        "1 full deploy",
        "one-file commit, median s",
        f"{median(a):.1f} (Ansible)",
        f"{median(s):.1f} (shell)",
        f"{ratio:.2f}",
        "<= 1.10",
        ratio <= 1.10,
    )


def bench_no_change(b: Bench) -> None:
    """2. The same with nothing to pull, build, migrate or seed."""
    b.deploy()
    a, s = interleave(b.deploy, b.deploy_by_hand, max(b.reps, 3))
    ratio, overhead = median(a) / median(s), median(a) - median(s)
    row(
        "2 no-change redeploy",
        "median s",
        f"{median(a):.1f} (Ansible)",
        f"{median(s):.1f} (shell)",
        f"{ratio:.2f}",
        "<= 1.30",
        ratio <= 1.30,
    )
    row(
        "2 no-change redeploy",
        "Ansible overhead, s",
        f"{overhead:.1f}",
        goal="<= 3",
        met=overhead <= 3,
    )
    recap = check(b.host.play("playbooks/deploy_staging.yml"), "deploy").stdout
    changed = [
        line.split("changed=")[1].split()[0]
        for line in recap.splitlines()
        if "changed=" in line and "tasc-staging-1" in line
    ]
    row(
        "2 no-change redeploy",
        "recap changed=",
        changed[-1],
        goal="2 (backup, log line)",
        met=changed[-1] == "2",
    )


def image_layers(b: Bench) -> list[str]:
    return json.loads(
        b.host.out("docker image inspect -f '{{json .RootFS.Layers}}' tasc-lms/web:local")
    )


def bench_build_cache(b: Bench) -> None:
    """3. An empty commit rebuilds no layer; a code-only change keeps the dependency layer."""
    b.deploy()
    before = image_layers(b)
    git = ["git", "--git-dir", str(ORIGIN)]
    tree = subprocess.run(
        [*git, "rev-parse", "main^{tree}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    commit = subprocess.run(
        [*git, "commit-tree", tree, "-p", "main", "-m", "empty commit"],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "b@b",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "b@b",
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()
    subprocess.run([*git, "update-ref", "refs/heads/main", commit], check=True)
    check(
        b.host.play(
            "molecule/default/prepare.yml", "-e", "publish=false", "-e", f"__origin={ORIGIN}"
        ),
        "serve the empty commit",
    )
    b.deploy()
    after_empty = image_layers(b)
    row(
        "3 build cache",
        "empty commit: layers rebuilt",
        f"{sum(x != y for x, y in zip(before, after_empty, strict=False))} of {len(before)}",
        goal="0 (.git not in the context)",
        met=after_empty == before,
    )
    b.new_commit()
    b.deploy()
    after_code = image_layers(b)
    # Leading layers reused: everything before `COPY . /app` (base, requirements, pip install);
    # the source layer and the collectstatic step after it are rebuilt by design.
    kept = next(
        (i for i, (x, y) in enumerate(zip(before, after_code, strict=False)) if x != y),
        len(after_code),
    )
    row(
        "3 build cache",
        "code-only change: leading layers reused",
        f"{kept} of {len(after_code)}",
        goal="all up to the pip install (the last 2 are the source and collectstatic)",
        met=kept >= len(after_code) - 2,
    )


def host_peak_kib(b: Bench, command: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a command's process tree on the host."""
    wrapper = (
        "import resource, subprocess, sys, time; t = time.monotonic(); "
        "r = subprocess.run(sys.argv[1], shell=True, stdout=subprocess.DEVNULL); "
        "print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "r.returncode)"
    )
    # shlex, not json: in double quotes the outer shell would expand the container's $VARS.
    out = b.host.out(f"python3 -c '{wrapper}' {shlex.quote(command)}").split()
    assert out[2] == "0", f"{command} failed"
    return float(out[0]), int(out[1])


def controller_peak_kib(b: Bench, playbook: str) -> int:
    wrapper = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    faultbed.guard_test_bed_inventory()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            wrapper,
            str(REPO / ".venv" / "bin" / "ansible-playbook"),
            playbook,
            "-i",
            str(faultbed.INVENTORY),
            *b.host.base_args(),
        ],
        cwd=REPO,
        env=faultbed.ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1] == "0", f"{playbook} failed"
    return int(out[0])


BACKUP = (
    f"tasc-pg-backup backup --dir {BACKUP_DIR} --project-dir {APP_DIR} --project tasc_lms "
    "--compose-file docker-compose.staging.yml --env staging --reason manual --sha bench"
)
BARE_DUMP = (
    f'{COMPOSE} exec -T db sh -c \'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" '
    "--format=custom --compress=1' > /tmp/bare.dump"
)


# About 1.1 GB of hard-to-compress rows (md5 of random numbers), so the largest size is real.
BALLAST_ROWS = 1_100_000
# (The inner series' column is used too: an aggregate over outer columns only would belong to
# the outer query.)
BALLAST = f"""
DROP TABLE IF EXISTS bench_ballast;
CREATE TABLE bench_ballast AS
  SELECT g AS id,
         (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 30) i)
           AS payload
  FROM generate_series(1, {BALLAST_ROWS}) g;
"""


def bench_backup(b: Bench) -> None:
    """4. Flat memory across sizes (1x, 10x, 100x, >= 1 GB); the verified backup against a bare
    pg_dump at the largest size; gzip level 1 (the default) against level 6."""
    sizes = {"1x": 1, "10x": 10, "100x": 100, "1 GB": 1}
    peaks: dict[str, tuple[int, int]] = {}
    for label, scale in sizes.items():
        b.seed_size(scale)
        if label == "1 GB":
            b.host.psql(BALLAST)
        database = int(b.host.psql("SELECT pg_database_size(current_database())"))
        ctl = controller_peak_kib(b, "playbooks/backup.yml")
        runs = [host_peak_kib(b, BACKUP) for _ in range(b.reps)]
        bare = [host_peak_kib(b, BARE_DUMP) for _ in range(b.reps)]
        size = int(b.host.out("stat -c %s /tmp/bare.dump"))
        peaks[label] = (ctl, max(k for _, k in runs))
        took, took_bare = median([t for t, _ in runs]), median([t for t, _ in bare])
        if label != "1 GB":
            SCALING.setdefault("backup s", {})[scale] = took
            SCALING.setdefault("bare pg_dump s", {})[scale] = took_bare
        row(
            "4 backup",
            f"{label} (database {database / 2**20:.0f} MiB, dump {size / 2**20:.1f} MiB): "
            "controller / host peak RSS",
            f"{peaks[label][0] / 1024:.0f} MiB / {peaks[label][1] / 1024:.1f} MiB",
            f"backup {took:.2f} s, bare {took_bare:.2f} s",
        )
        b.host.sh(f"ls -t {BACKUP_DIR}/*manual*.dump | tail -n +3 | xargs -r rm -f", check=False)
    a, s = interleave(lambda: host_peak_kib(b, BACKUP), lambda: host_peak_kib(b, BARE_DUMP), b.reps)
    ratio = median(a) / median(s)
    row(
        "4 backup",
        "1 GB: verified backup step vs bare pg_dump, median s",
        f"{median(a):.2f}",
        f"{median(s):.2f}",
        f"{ratio:.2f}",
        "<= 1.2",
        ratio <= 1.2,
    )
    for level in ("1", "6"):
        t, _ = host_peak_kib(b, f"{BACKUP} --compress {level}")
        newest = b.host.out(f"ls -t {BACKUP_DIR}/*.dump | head -n 1")
        row(
            "4 backup",
            f"1 GB: gzip level {level}" + (" (the default)" if level == "1" else ""),
            f"{t:.2f} s, {int(b.host.out(f'stat -c %s {newest}')) / 2**20:.0f} MiB",
        )
    b.host.psql("DROP TABLE bench_ballast;")
    b.host.sh(f"ls -t {BACKUP_DIR}/*manual*.dump | tail -n +3 | xargs -r rm -f", check=False)
    growth = [(peaks["1 GB"][i] - peaks["1x"][i]) / 1024 for i in (0, 1)]
    row(
        "4 backup",
        "peak RSS growth 1x -> 1 GB (controller, host)",
        f"{growth[0]:+.1f} MiB, {growth[1]:+.1f} MiB",
        goal="<= +20 MB",
        met=max(growth) <= 20,
    )
    b.seed_size(1)


def bench_seeder(b: Bench) -> None:
    """5. Full demo time, scaling, a naive seeder, an idempotent re-run."""
    for scale in (1, 10, 100):
        times = [timed(lambda s=scale: b.seed_size(s)) for _ in range(b.reps)]
        SCALING.setdefault("seed s", {})[scale] = median(times)
        row("5 seeder", f"reset + full demo at {scale}x, median s", f"{median(times):.2f}")
    growth = SCALING["seed s"][100] / SCALING["seed s"][10]
    row("5 seeder", "T(100x) / T(10x)", f"{growth:.1f}", goal="<= 12", met=growth <= 12)
    b.seed_size(1)
    naive_script = (BENCH / "naive_seed.py").read_text()

    def naive():
        b.host.sh(f"{COMPOSE} exec -T web python manage.py shell <<'PY'\n{naive_script}\nPY")

    def default():
        b.host.manage("seed_staging --reset --with-catalogue --with-enrollments")

    n, d = interleave(naive, default, b.reps)
    speedup = median(n) / median(d)
    row(
        "5 seeder",
        "default dataset vs naive (row by row, hash each), median s",
        f"{median(d):.2f} (seed_staging)",
        f"{median(n):.2f} (naive)",
        f"{speedup:.1f}x faster",
        ">= 10x",
        speedup >= 10,
    )
    b.host.psql(  # enrollments first: Django cascades, the database does not
        "DELETE FROM catalogue_enrollment WHERE course_id IN "
        "(SELECT id FROM catalogue_course WHERE slug LIKE 'naive-%');"
        "DELETE FROM catalogue_session WHERE course_id IN "
        "(SELECT id FROM catalogue_course WHERE slug LIKE 'naive-%');"
        "DELETE FROM catalogue_course WHERE slug LIKE 'naive-%';"
        "DELETE FROM accounts_user WHERE email LIKE '%@naive.bench';"
    )

    def rerun():
        b.host.manage("seed_staging --with-catalogue --with-enrollments")

    def startup():
        b.host.manage("shell -c pass")

    r, s = interleave(rerun, startup, b.reps)
    ratio = median(r) / median(s)
    row(
        "5 seeder",
        "idempotent re-run vs Django start-up, median s",
        f"{median(r):.2f}",
        f"{median(s):.2f}",
        f"{ratio:.2f}",
        "<= 1.2",
        ratio <= 1.2,
    )
    b.seed_size(1)


# One sample every 50 ms of what a visitor could see: the demo users, enrollments on courses
# that are not published (the guide's rule: must be 0) and the /healthz status code. Written to
# the host as a file: quoting SQL through json.dumps and two shells mangled it before.
PROBE_SCRIPT = f"""#!/usr/bin/env bash
while [ ! -f /tmp/stop-probe ]; do
  rows=$({COMPOSE} exec -T db sh -c 'psql -qAt -F " " -U "$POSTGRES_USER" -d "$POSTGRES_DB"' <<'SQL'
SELECT (SELECT count(*) FROM accounts_user WHERE email LIKE '%@test.com'),
       (SELECT count(*) FROM catalogue_enrollment e JOIN catalogue_course c ON c.id = e.course_id
         WHERE c.status <> 'published');
SQL
)
  code=$(curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:8000/healthz)
  echo "$rows $code"
  sleep 0.05
done
"""


def bench_nightly(b: Bench) -> None:
    """6. Reset + full reseed at 1x and 100x, and how long anyone sees inconsistent data."""
    config = json.loads(b.host.out("cat /etc/tasc/nightly-reset.json"))
    b.host.sh(f"cat > /tmp/probe.sh <<'PROBE'\n{PROBE_SCRIPT}PROBE")
    for scale in (1, 100):
        b.seed_size(scale)
        users = b.host.psql("SELECT count(*) FROM accounts_user WHERE email LIKE '%@test.com'")
        expected = f"{users} 0 200"
        config["seed"]["flags"] = [*FULL_DEMO.split(), "--learners", str(50 * scale)]
        config["seed"]["expected_cohorts"]["learner"] = 50 * scale
        b.host.sh(f"cat > /tmp/bench-reset.json <<'JSON'\n{json.dumps(config)}\nJSON")
        b.host.sh("rm -f /tmp/stop-probe; nohup bash /tmp/probe.sh >/tmp/probe.log 2>&1 &")
        took = timed(lambda: b.host.sh("tasc-nightly-reset run --config /tmp/bench-reset.json"))
        SCALING.setdefault("nightly reset s", {})[scale] = took
        b.host.sh("touch /tmp/stop-probe; sleep 1")
        seen = [line.strip() for line in b.host.out("cat /tmp/probe.log").splitlines()]
        odd = [v for v in seen if v != expected]
        row(
            "6 nightly reset",
            f"{scale}x: wall s; samples not '{expected}' (users, draft enrollments, /healthz)",
            f"{took:.1f} s",
            f"{len(odd)} of {len(seen)} samples",
            goal="0 (never)",
            met=not odd and len(seen) > 10,
        )
        if odd:
            print(f"  first odd samples: {odd[:5]}", flush=True)
    b.seed_size(1)


def bench_readiness(b: Bench) -> None:
    """7. What `docker compose up --wait` adds over the first successful /healthz."""
    gaps = []
    for _ in range(b.reps):
        b.host.sh(
            "rm -f /tmp/stop-probe; nohup bash -c 'while [ ! -f /tmp/stop-probe ]; do "
            "echo $(date +%s.%N) $(curl -s -o /dev/null -w %{http_code} --max-time 1 "
            "http://127.0.0.1:8000/healthz); sleep 0.02; done' >/tmp/ready.log 2>&1 &"
        )
        started = float(b.host.out("date +%s.%N"))
        b.host.compose("up -d --force-recreate --wait web")
        done = float(b.host.out("date +%s.%N"))
        b.host.sh("touch /tmp/stop-probe; sleep 0.5")
        samples = [line.split() for line in b.host.out("cat /tmp/ready.log").splitlines()]
        samples = [(float(t), code) for t, code in samples if float(t) >= started]
        first_down = next((t for t, code in samples if code != "200"), started)
        first_up = next(t for t, code in samples if t > first_down and code == "200")
        gaps.append(done - first_up)
    gap = median(gaps)
    row(
        "7 readiness",
        "up --wait returns after the first /healthz 200, median s",
        f"{gap:.2f}",
        goal="<= 1.5",
        met=gap <= 1.5,
    )


def bench_per_task(b: Bench) -> None:
    """8. Per-task cost over SSH: project ansible.cfg, Ansible defaults, a raw ssh loop."""
    tmp = REPO / ".testbed" / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    for n in (1, 51):
        tasks = "".join(
            f"    - name: No-op {i}\n      ansible.builtin.command: /bin/true\n"
            "      changed_when: false\n"
            for i in range(n)
        )
        (tmp / f"noop_{n}.yml").write_text(
            f"---\n- name: No-op tasks\n  hosts: tasc_app\n  gather_facts: false\n  tasks:\n{tasks}"
        )

    def play(n: int, config: str) -> float:
        env = {**faultbed.ansible_env(), "ANSIBLE_CONFIG": config}
        return timed(
            lambda: check(
                subprocess.run(
                    [
                        str(REPO / ".venv" / "bin" / "ansible-playbook"),
                        str(tmp / f"noop_{n}.yml"),
                        "-i",
                        str(faultbed.INVENTORY),
                    ],
                    cwd=REPO,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                ),
                "no-op playbook",
            )
        )

    defaults = tmp / "defaults.cfg"
    defaults.write_text("[defaults]\n")  # every setting at Ansible's default
    results = {}
    for label, config in (
        ("project ansible.cfg", str(REPO / "ansible.cfg")),
        ("Ansible defaults", str(defaults)),
    ):
        one = median([play(1, config) for _ in range(b.reps)])
        many = median([play(51, config) for _ in range(b.reps)])
        results[label] = (many - one) / 50 * 1000
    ssh = (
        median([timed(lambda: [b.ssh_run("true") for _ in range(10)]) / 10 for _ in range(b.reps)])
        * 1000
    )
    row(
        "8 per task",
        "ms per task",
        f"{results['project ansible.cfg']:.0f} (project cfg)",
        f"{results['Ansible defaults']:.0f} (defaults)",
        f"raw ssh: {ssh:.0f} ms per command",
    )


BENCHMARKS = {
    "full_deploy": bench_full_deploy,
    "no_change": bench_no_change,
    "build_cache": bench_build_cache,
    "backup": bench_backup,
    "seeder": bench_seeder,
    "nightly": bench_nightly,
    "readiness": bench_readiness,
    "per_task": bench_per_task,
}


# ------------------------------------------------------------------------------------ report


def versions(b: Bench) -> dict[str, str]:
    ansible = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()[0]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()}, {platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "Ansible": ansible,
        "Compose (test host)": b.host.out("docker compose version --short"),
        "Docker Engine (test host)": b.host.out("docker version -f '{{.Server.Version}}'"),
        "PostgreSQL": b.host.psql("SHOW server_version"),
        "Django": b.host.compose(
            "exec -T web python -c 'import django; print(django.get_version())'"
        ).stdout.strip(),
    }


def chart() -> None:
    if not SCALING:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in sorted(SCALING.items()):
        sizes = sorted(points)
        ax.plot(sizes, [points[s] for s in sizes], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dataset size (x the guide's demo data)")
    ax.set_ylabel("seconds (median)")
    ax.set_title("Seeder, backup and nightly reset against dataset size (droplet test host)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(BENCH / "scaling.png", dpi=110)


def report(b: Bench, only: list[str]) -> None:
    store = json.loads(STORE.read_text()) if STORE.exists() else {"benchmarks": {}}
    info = versions(b)
    for name in only:
        store["benchmarks"][name] = {
            "measured": info["date"],
            "reps": b.reps,
            "rows": [r for r in ROWS if r["name"] == name],
        }
    store["scaling"] = {**store.get("scaling", {}), **{k: v for k, v in SCALING.items()}}
    store["versions"] = info
    STORE.write_text(json.dumps(store, indent=1) + "\n")
    SCALING.update({k: {int(x): y for x, y in v.items()} for k, v in store["scaling"].items()})
    chart()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/bench.py`, figures kept in `bench/results.json`); see "
        "`bench/README.md` for what each benchmark compares. A and B ran interleaved in the "
        "same session; figures are medians.",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    lines += [
        "",
        "| Benchmark | Measure | A | B | Ratio | Goal | Result |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in BENCHMARKS:
        entry = store["benchmarks"].get(name)
        if not entry:
            lines.append(f"| {name} | not measured yet | | | | | |")
            continue
        for r in entry["rows"]:
            lines.append(
                f"| {r['benchmark']} | {r['measure']} | {r['a']} | {r['b']} | {r['ratio']} | "
                f"{r['goal']} | {r['met']} |"
            )
    lines += ["", "Measured (UTC), repetitions:", ""]
    lines += [
        f"- {name}: {entry['measured']}, {entry['reps']} repetitions"
        for name, entry in store["benchmarks"].items()
    ]
    if SCALING:
        lines += ["", "![scaling](scaling.png)", ""]
    (BENCH / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    b = Bench(args.reps)
    try:
        failed = []
        for name in only:
            print(f"== {name}", flush=True)
            CURRENT["name"] = name
            try:
                BENCHMARKS[name](b)
            except (StepFailed, AssertionError, subprocess.SubprocessError, OSError) as error:
                # One broken benchmark must not cost the others' figures: say so and go on.
                failed.append(name)
                row(name, "benchmark failed", str(error).splitlines()[0][:160], met=False)
        report(b, only)
    finally:
        faultbed.tear_down()
    print(f"wrote {BENCH / 'RESULTS.md'}")
    if failed:
        raise SystemExit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
