"""scripts/lib/check_containers.py: the checks behind scripts/check-containers.sh.

Static checks of the container setup, for machines without a container engine:
the linters (hadolint, yamllint, dclint with the Compose Specification schema,
haproxy -c, a throwaway redis-server reading docker/redis/redis.conf), then
the properties the deployment relies on, read from the files themselves:

- docker/Dockerfile builds with the command scripts/run.sh runs (same profile,
  --locked, binary), cooks its dependencies with the same flags, copies the
  binary from where that build puts it, uses a toolchain not older than
  Cargo.toml's rust-version, and names only subcommands and flags the binary
  has (src/cli/mod.rs; also `unioneyes <cmd> --help` when a fresh
  target/debug/unioneyes exists); Cargo.lock is in sync (`cargo metadata
  --locked`), since `cargo build --locked` fails otherwise.
- .dockerignore keeps every file the build needs in the context (manifests,
  benches, config/, everything include_str!/embed_migrations! embeds).
- docker/compose.{dev,staging,prod}.yml: health checks, limits, named volumes,
  env files (examples committed, real ones git-ignored, every variable
  required in staging/production listed), the migrate job the replicas wait
  for, two replicas behind the LB in staging/prod and the LB config naming
  exactly them, stop_grace_period above the service's shutdown timings, LB
  detection inside the drain, no published PostgreSQL/Redis ports outside
  development, Redis noeviction with maxmemory under the container limit,
  enough PostgreSQL connections for the pools; in staging/prod every replica
  has an internal metrics listener (METRICS_PORT fixed, not PORT, METRICS_HOST
  0.0.0.0, the port not published), the env template lists METRICS_TOKEN, and
  a bundled Prometheus (only in the `monitoring` profile, loopback-published
  at most) scrapes exactly app1/app2 on METRICS_PORT.

Usage: python3 check_containers.py REPO_ROOT  (tool paths in the environment:
HADOLINT, YAMLLINT, DCLINT, HAPROXY, REDIS_SERVER, REDIS_CLI). Exit 1 on any
failure, after running every check.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(sys.argv[1]).resolve()
ENVS = {"dev": "development", "staging": "staging", "prod": "production"}
BIN = "unioneyes"

failures: list[str] = []
warnings: list[str] = []


def fail(where: str, msg: str) -> None:
    failures.append(f"{where}: {msg}")


def warn(where: str, msg: str) -> None:
    warnings.append(f"{where}: {msg}")


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def section(name: str):
    """Decorator: run a check, time it, report ok/FAILED with the new failures."""

    def wrap(fn):
        def run(*args, **kwargs):
            before = len(failures)
            start = time.monotonic()
            try:
                fn(*args, **kwargs)
            except Exception as e:  # a crash in a check is a failure, not a pass
                fail(name, f"check crashed: {type(e).__name__}: {e}")
            took = time.monotonic() - start
            status = "ok" if len(failures) == before else "FAILED"
            print(f"  {status:6} {name} ({took:.1f}s)", flush=True)
            for f in failures[before:]:
                print(f"         - {f}", flush=True)

        return run

    return wrap


def tool_run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, **kwargs)


# --- Repository facts ----------------------------------------------------------


def cargo_workspace() -> dict:
    text = (ROOT / "Cargo.toml").read_text()
    facts = {}
    for key in ("version", "license", "rust-version"):
        m = re.search(rf'^{key}\s*=\s*"([^"]+)"', text, re.M)
        facts[key] = m.group(1) if m else None
    facts["benches"] = re.findall(r'\[\[bench\]\]\s*\nname\s*=\s*"([^"]+)"', text)
    return facts


def config_vars() -> dict[str, dict]:
    """VARS of src/config/vars.rs: name -> {required, secret, default}."""
    out = {}
    for line in (ROOT / "src/config/vars.rs").read_text().splitlines():
        m = re.match(r'\s*(var|int)\("([A-Z_]+)",\s*(.*)$', line)
        if not m:
            continue
        kind, name, rest = m.groups()
        default = None
        if kind == "int":
            d = re.match(r'\s*[\d_]+,\s*[\d_]+,\s*"([^"]*)"', rest)
            default = d.group(1) if d else None
        else:
            d = re.search(r'Some\("([^"]*)"\)\)', rest)
            default = d.group(1) if d else None
        req = "never"
        if ".req(Strict)" in line:
            req = "strict"
        elif ".req(Always)" in line:
            req = "always"
        out[name] = {"required": req, "secret": ".secret()" in line, "default": default}
    return out


def cli_commands() -> dict[str, set[str]]:
    """Subcommands of `enum Command` in src/cli/mod.rs -> their --flags."""
    text = (ROOT / "src/cli/mod.rs").read_text()
    start = text.index("enum Command {")
    body_start = text.index("{", start) + 1
    depth, i = 1, body_start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    body = text[body_start : i - 1]
    commands: dict[str, set[str]] = {}
    depth, current = 0, None
    for line in body.splitlines():
        stripped = line.strip()
        if depth == 0:
            m = re.match(r"([A-Z][A-Za-z0-9]*)\s*([,{(]|$)", stripped)
            if m and not stripped.startswith("#"):
                current = re.sub(r"(?<!^)(?=[A-Z])", "-", m.group(1)).lower()
                commands[current] = set()
        elif depth == 1 and current:
            f = re.match(r"([a-z_][a-z0-9_]*)\s*:", stripped)
            if f:
                commands[current].add("--" + f.group(1).replace("_", "-"))
        depth += line.count("{") - line.count("}")
    return commands


# --- Dockerfile ----------------------------------------------------------------


class Dockerfile:
    def __init__(self, path: Path):
        self.path = path
        self.instructions: list[tuple[str, str, int]] = []  # (INSTR, args, stage index)
        self.stages: list[dict] = []
        self.global_args: dict[str, str] = {}
        logical, buf = [], ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not buf and (not line or line.startswith("#")):
                continue
            if line.startswith("#"):
                continue
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            logical.append(buf + line)
            buf = ""
        stage = -1
        for line in logical:
            instr, _, args = line.partition(" ")
            instr = instr.upper()
            args = args.strip()
            if instr == "FROM":
                stage += 1
                parts = args.split()
                name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(stage)
                self.stages.append({"image": parts[0], "name": name, "args": {}})
            elif instr == "ARG":
                k, _, v = args.partition("=")
                if stage < 0:
                    self.global_args[k] = v.strip('"')
                else:
                    self.stages[stage]["args"][k] = v.strip('"') or self.global_args.get(k, "")
            self.instructions.append((instr, args, stage))

    def in_stage(self, stage: int, instr: str) -> list[str]:
        return [a for i, a, s in self.instructions if s == stage and i == instr]

    def all(self, instr: str) -> list[tuple[str, int]]:
        return [(a, s) for i, a, s in self.instructions if i == instr]

    def resolve(self, text: str) -> str:
        return re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
            lambda m: self.global_args.get(m.group(1), m.group(0)),
            text,
        )

    def env(self, stage: int) -> dict[str, str]:
        env = {}
        for args in self.in_stage(stage, "ENV"):
            for tok in shlex.split(args):
                k, _, v = tok.partition("=")
                env[k] = v
        return env


def cargo_args(command: str, marker: list[str]) -> list[str] | None:
    """The arguments after `cargo build` (marker) in a shell command, or None."""
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part)
        for i in range(len(words) - len(marker) + 1):
            if words[i : i + len(marker)] == marker:
                return words[i + len(marker) :]
    return None


def flag_value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def build_identity(args: list[str]) -> dict:
    """What decides the artifact: profile, lock mode, binary, features, target."""
    profile = "release" if "--release" in args else flag_value(args, "--profile") or "dev"
    return {
        "profile": profile,
        "locked": "--locked" in args or "--frozen" in args,
        "bin": flag_value(args, "--bin"),
        "features": flag_value(args, "--features"),
        "no-default-features": "--no-default-features" in args,
        "target": flag_value(args, "--target"),
    }


def exec_form(args: str) -> list[str] | None:
    args = args.strip()
    if args.startswith("["):
        return yaml.safe_load(args)
    return None


@section("Dockerfile: build command, toolchain, runtime image, subcommands")
def check_dockerfile(df: Dockerfile, commands: dict[str, set[str]], ws: dict) -> None:
    where = rel(df.path)
    # The build, and the command scripts/run.sh runs.
    builds = [(cargo_args(a, ["cargo", "build"]), s) for a, s in df.all("RUN")]
    builds = [(b, s) for b, s in builds if b is not None]
    if len(builds) != 1:
        fail(where, f"expected exactly one `cargo build` RUN, found {len(builds)}")
        return
    build, build_stage = builds[0]
    ident = build_identity(build)
    if ident["profile"] != "release" or not ident["locked"] or ident["bin"] != BIN:
        fail(where, f"`cargo build {' '.join(build)}` must be --release --locked --bin {BIN}")
    run_sh = ROOT / "scripts/run.sh"
    run_builds = [
        cargo_args(line, ["cargo", "build"])
        for line in run_sh.read_text().splitlines()
        if re.match(r"\s*cargo build\b", line)
    ]
    if len(run_builds) != 1:
        fail("scripts/run.sh", f"expected one `cargo build` line, found {len(run_builds)}")
    elif sorted(run_builds[0]) != sorted(build):
        fail(
            "scripts/run.sh",
            f"builds with `cargo build {' '.join(run_builds[0])}`, the image with "
            f"`cargo build {' '.join(build)}`: what runs locally must be what ships",
        )
    # cargo-chef must cook exactly what the build then compiles, or the cache misses.
    cooks = [cargo_args(a, ["cargo", "chef", "cook"]) for a, _ in df.all("RUN")]
    cooks = [c for c in cooks if c is not None]
    if len(cooks) != 1:
        fail(where, f"expected one `cargo chef cook` RUN, found {len(cooks)}")
    elif build_identity(cooks[0]) != ident:
        fail(where, f"`cargo chef cook` {build_identity(cooks[0])} differs from `cargo build` {ident}")
    if not any("cargo chef prepare" in a for a, _ in df.all("RUN")):
        fail(where, "no `cargo chef prepare` (planner stage)")
    # The runtime stage copies the binary from where the build puts it.
    runtime = len(df.stages) - 1
    profile_dir = "release" if ident["profile"] == "release" else ident["profile"]
    if ident["profile"] == "dev":
        profile_dir = "debug"
    builder_name = df.stages[build_stage]["name"]
    copies = [a for a in df.in_stage(runtime, "COPY") if f"--from={builder_name}" in a]
    dest = None
    for c in copies:
        words = [w for w in c.split() if not w.startswith("--")]
        if words and words[0].endswith(f"target/{profile_dir}/{BIN}"):
            dest = words[-1]
    if not dest:
        fail(where, f"the runtime stage does not COPY --from={builder_name} .../target/{profile_dir}/{BIN}")
    # Toolchain: not older than rust-version; the same as the test suite's, ideally.
    rust_images = [s["image"] for s in df.stages if s["image"].split(":")[0] in ("rust", "docker.io/library/rust")]
    if not rust_images:
        fail(where, "no rust:<version> build stage")
    else:
        m = re.match(r"[^:]+:(\d+)\.(\d+)", df.resolve(rust_images[0]))
        if not m:
            fail(where, f"the toolchain image {df.resolve(rust_images[0])} is not pinned to major.minor")
        else:
            image_v = (int(m.group(1)), int(m.group(2)))
            floor = tuple(int(x) for x in (ws["rust-version"] or "0.0").split(".")[:2])
            if image_v < floor:
                fail(
                    where,
                    f"toolchain {image_v[0]}.{image_v[1]} is older than Cargo.toml rust-version {ws['rust-version']}",
                )
            try:
                out = tool_run(["rustc", "--version"]).stdout
                lm = re.search(r"rustc (\d+)\.(\d+)", out)
                if lm and (int(lm.group(1)), int(lm.group(2))) != image_v:
                    warn(
                        where,
                        f"image toolchain {image_v[0]}.{image_v[1]} differs from the local {lm.group(0)} the tests run with",
                    )
            except FileNotFoundError:
                pass
    # The runtime image itself.
    env = df.env(runtime)
    if env.get("APP_ENV") != "production":
        fail(where, "the runtime image must default to APP_ENV=production")
    users = df.in_stage(runtime, "USER")
    if not users:
        fail(where, "the runtime stage runs as root (no USER)")
    else:
        uid = users[-1].split(":")[0]
        if not uid.isdigit() or uid == "0":
            fail(where, f"USER {users[-1]}: use a fixed non-zero numeric uid")
    exposed = " ".join(df.in_stage(runtime, "EXPOSE")).split()
    if env.get("PORT") and env["PORT"] not in [e.split("/")[0] for e in exposed]:
        fail(where, f"EXPOSE {exposed} does not include PORT={env.get('PORT')}")
    if df.in_stage(runtime, "STOPSIGNAL") != ["SIGTERM"]:
        fail(where, "STOPSIGNAL SIGTERM expected (it starts the graceful shutdown)")
    labels = " ".join(df.in_stage(runtime, "LABEL"))
    version_arg = df.stages[runtime]["args"].get("APP_VERSION")
    if version_arg != ws["version"]:
        fail(where, f"ARG APP_VERSION={version_arg} but Cargo.toml version is {ws['version']}")
    if f'org.opencontainers.image.licenses="{ws["license"]}"' not in labels:
        fail(where, f"LABEL org.opencontainers.image.licenses must be {ws['license']} (Cargo.toml)")
    # ENTRYPOINT / CMD / HEALTHCHECK: the binary copied above, real subcommands.
    entry = exec_form((df.in_stage(runtime, "ENTRYPOINT") or [""])[-1])
    if not entry or entry[0] not in (dest, BIN):
        fail(where, f"ENTRYPOINT {entry} should be the copied binary {dest}")
    cmd = exec_form((df.in_stage(runtime, "CMD") or [""])[-1]) or []
    check_invocation(where + " CMD", cmd, commands)
    hc = (df.in_stage(runtime, "HEALTHCHECK") or [""])[-1]
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc)
    if not m:
        fail(where, 'HEALTHCHECK ... CMD ["..."] (exec form) expected')
    else:
        hc_cmd = yaml.safe_load(m.group(1))
        if hc_cmd[0] not in (dest, BIN):
            fail(where, f"HEALTHCHECK runs {hc_cmd[0]}, not the binary {dest}")
        check_invocation(where + " HEALTHCHECK", hc_cmd[1:], commands)
        if not hc_cmd[1:] or hc_cmd[1] != "healthcheck":
            fail(where, "HEALTHCHECK should run `unioneyes healthcheck` (it probes /readyz)")
        df.healthcheck = hc_cmd


used_invocations: list[tuple[str, list[str]]] = []


def check_invocation(where: str, argv: list[str], commands: dict[str, set[str]]) -> None:
    """argv = subcommand and its arguments (without the binary)."""
    if not argv:
        return
    sub, rest = argv[0], argv[1:]
    if sub not in commands:
        fail(where, f"`{BIN} {sub}`: no such subcommand (src/cli/mod.rs has {sorted(commands)})")
        return
    for a in rest:
        if a.startswith("--") and a.split("=")[0] not in commands[sub]:
            fail(where, f"`{BIN} {sub} {a}`: no such flag (it has {sorted(commands[sub]) or 'none'})")
    used_invocations.append((where, argv))


@section("binary: the subcommands the containers run, against target/debug/unioneyes --help")
def check_with_binary() -> None:
    binary = ROOT / "target/debug" / BIN
    newest_src = max(p.stat().st_mtime for p in (ROOT / "src/cli").rglob("*.rs"))
    if not binary.exists() or binary.stat().st_mtime < newest_src:
        print("         (no fresh target/debug/unioneyes: checked against src/cli/mod.rs only)")
        return
    r = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=10)
    listed = set(re.findall(r"^  ([a-z][a-z0-9-]*)\s", r.stdout.split("Commands:")[-1].split("Options:")[0], re.M))
    if listed - {"help"} != set(cli_commands()):
        fail(
            "scripts/lib/check_containers.py",
            f"read {sorted(cli_commands())} from src/cli/mod.rs, the binary lists {sorted(listed)}",
        )
    seen = set()
    for where, argv in used_invocations:
        key = tuple(a for a in argv if a.startswith("--") or a == argv[0])
        if key in seen:
            continue
        seen.add(key)
        r = subprocess.run([str(binary), argv[0], "--help"], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            fail(where, f"`{BIN} {argv[0]} --help` exited {r.returncode}: {r.stderr.strip()[:200]}")
            continue
        for a in argv[1:]:
            if a.startswith("--") and a.split("=")[0] not in r.stdout:
                fail(where, f"`{BIN} {argv[0]} --help` does not list {a}")


@section("Cargo.lock in sync (the image builds with --locked)")
def check_lockfile() -> None:
    r = tool_run(["cargo", "metadata", "--locked", "--format-version", "1"], timeout=600)
    if r.returncode != 0:
        msg = r.stderr.strip().splitlines()
        fail("Cargo.lock", "`cargo metadata --locked` failed: " + " / ".join(msg[-3:]))


# --- .dockerignore ----------------------------------------------------------------


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pat = line[1:] if negate else line
        pat = pat.strip("/")
        rx, i = "", 0
        while i < len(pat):
            if pat.startswith("**/", i):
                rx += "(?:.*/)?"
                i += 3
            elif pat.startswith("**", i):
                rx += ".*"
                i += 2
            elif pat[i] == "*":
                rx += "[^/]*"
                i += 1
            elif pat[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(pat[i])
                i += 1
        out.append((negate, re.compile(rx + r"\Z")))
    return out


def dockerignored(path: str, patterns) -> bool:
    """Docker's rule: a pattern matching the path or one of its parent directories
    excludes it; the last matching pattern wins; `!` re-includes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            excluded = not negate
    return excluded


@section(".dockerignore keeps what the build needs")
def check_dockerignore(ws: dict) -> None:
    patterns = dockerignore_patterns()
    needed = {"Cargo.toml", "Cargo.lock", "actors/Cargo.toml", "src/main.rs", "src/lib.rs", "actors/src/lib.rs"}
    needed |= {f"benches/{b}.rs" for b in ws["benches"]}
    needed |= {rel(p) for p in (ROOT / "config").glob("*.toml")}
    for src_dir, crate in ((ROOT / "src", ROOT), (ROOT / "actors/src", ROOT / "actors")):
        for f in src_dir.rglob("*.rs"):
            text = f.read_text()
            for m in re.finditer(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', text):
                target = (f.parent / m.group(1)).resolve()
                needed.add(rel(target))
            for m in re.finditer(r'embed_migrations!\(\s*"([^"]+)"\s*\)', text):
                d = crate / m.group(1)
                needed |= {rel(p) for p in d.rglob("*") if p.is_file()}
    for path in sorted(needed):
        if not (ROOT / path).exists():
            fail(".dockerignore", f"{path} is needed by the build but does not exist")
        elif dockerignored(path, patterns):
            fail(".dockerignore", f"excludes {path}, which the image build needs")
    for secret in ("docker/env/prod.env", "docker/env/staging.env", ".env", ".dev/admin-token", ".git/config"):
        if not dockerignored(secret, patterns):
            fail(".dockerignore", f"does not exclude {secret}")
    if not dockerignored("target/release/unioneyes", patterns):
        fail(".dockerignore", "does not exclude target/ (a huge build context)")


# --- Linters -----------------------------------------------------------------------


@section("hadolint docker/Dockerfile")
def check_hadolint() -> None:
    r = tool_run([os.environ["HADOLINT"], "--no-color", "--config", ".hadolint.yaml", "docker/Dockerfile"])
    if r.returncode != 0:
        fail("hadolint", (r.stdout + r.stderr).strip())


@section("yamllint (docker/*.yml, lint configs)")
def check_yamllint() -> None:
    files = [rel(p) for p in sorted((ROOT / "docker").glob("*.yml"))]
    files += [".yamllint", ".hadolint.yaml", ".dclintrc"]
    r = tool_run([os.environ["YAMLLINT"], "--strict", "-c", ".yamllint", *files])
    if r.returncode != 0:
        fail("yamllint", (r.stdout + r.stderr).strip())


@section("dclint: Compose Specification schema + rules (.dclintrc)")
def check_dclint(files: list[Path]) -> None:
    r = tool_run(
        [os.environ["DCLINT"], "--config", ".dclintrc", "--max-warnings", "0", "--color", "false", *map(rel, files)],
        env={**os.environ, "NO_COLOR": "1"},
    )
    if r.returncode != 0:
        fail("dclint", (r.stdout + r.stderr).strip())


@section("haproxy -c -f docker/haproxy/haproxy.cfg")
def check_haproxy(replicas: set[str]) -> None:
    r = tool_run([os.environ["HAPROXY"], "-c", "-f", "docker/haproxy/haproxy.cfg"])
    out = r.stdout + r.stderr
    if r.returncode != 0:
        fail("haproxy -c", "\n".join(x for x in out.strip().splitlines() if "[NOTICE]" not in x))
        return
    # Expected: the replicas' names do not resolve here (init-addr ...,none).
    for line in out.splitlines():
        if "[WARNING]" in line or "[ALERT]" in line:
            m = re.search(r"could not resolve address '([^']+)'", line)
            if not (m and m.group(1) in replicas):
                fail("haproxy -c", line.strip())


@section("redis-server reads docker/redis/redis.conf")
def check_redis_conf() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sock = f"{tmp}/redis.sock"
        proc = subprocess.Popen(
            [
                os.environ["REDIS_SERVER"],
                str(ROOT / "docker/redis/redis.conf"),
                "--port",
                "0",
                "--unixsocket",
                sock,
                "--dir",
                tmp,
                "--daemonize",
                "no",
                "--maxmemory",
                "16mb",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock):
                if proc.poll() is not None:
                    fail("docker/redis/redis.conf", "redis-server refused it: " + proc.stdout.read().strip()[-500:])
                    return
                if time.monotonic() > deadline:
                    fail("docker/redis/redis.conf", "redis-server did not start within 10 s")
                    return
                time.sleep(0.05)
            cli = [os.environ["REDIS_CLI"], "-s", sock]
            policy = subprocess.run(
                cli + ["CONFIG", "GET", "maxmemory-policy"], capture_output=True, text=True
            ).stdout.split()
            if policy[-1:] != ["noeviction"]:
                fail(
                    "docker/redis/redis.conf",
                    f"maxmemory-policy is {policy[-1:]}, expected noeviction (see the file's comment)",
                )
            aof = subprocess.run(cli + ["CONFIG", "GET", "appendonly"], capture_output=True, text=True).stdout.split()
            if aof[-1:] != ["yes"]:
                fail("docker/redis/redis.conf", "appendonly must be yes (analytics live only in Redis)")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- Compose ------------------------------------------------------------------------


def duration_secs(v) -> float:
    total, s = 0.0, str(v)
    for num, unit in re.findall(r"([\d.]+)(ms|us|h|m|s)", s):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


def mem_bytes(v) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?", str(v).strip().lower())
    if not m:
        raise ValueError(f"not a memory size: {v}")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def env_dict(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_list(svc: dict) -> list[str]:
    c = svc.get("command") or []
    return shlex.split(c) if isinstance(c, str) else [str(x) for x in c]


def is_app(svc: dict) -> bool:
    build = svc.get("build") or {}
    dockerfile = build.get("dockerfile", "") if isinstance(build, dict) else ""
    return dockerfile.endswith("docker/Dockerfile") or "UNIONEYES_IMAGE" in str(svc.get("image", ""))


def image_name(svc: dict) -> str:
    return str(svc.get("image", "")).split(":")[0].split("/")[-1]


def depends(svc: dict) -> dict[str, str]:
    d = svc.get("depends_on") or {}
    if isinstance(d, list):
        return {k: "service_started" for k in d}
    return {k: (v or {}).get("condition", "service_started") for k, v in d.items()}


def env_file_entries(svc: dict) -> list[tuple[str, bool]]:
    ef = svc.get("env_file") or []
    if isinstance(ef, str):
        ef = [ef]
    out = []
    for e in ef:
        if isinstance(e, str):
            out.append((e, True))
        else:
            out.append((e["path"], e.get("required", True)))
    return out


def published(svc: dict) -> list[str]:
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out.append(f"{p.get('host_ip', '')}:{p.get('published', '')}:{p.get('target')}")
        else:
            out.append(str(p))
    return out


def haproxy_facts() -> dict:
    text = (ROOT / "docker/haproxy/haproxy.cfg").read_text()
    lines = [raw.split("#")[0].strip() for raw in text.splitlines()]
    facts = {"servers": {}, "default_server": "", "timeout_server": None, "check_uri": None, "expect": None}
    for line in lines:
        if line.startswith("server "):
            parts = line.split()
            host, _, port = parts[2].rpartition(":")
            facts["servers"][parts[1]] = (host, port)
        elif line.startswith("default-server "):
            facts["default_server"] = line
        elif line.startswith("timeout server "):
            facts["timeout_server"] = duration_secs(line.split()[2])
        elif line.startswith("http-check send"):
            m = re.search(r"\buri\s+(\S+)", line)
            facts["check_uri"] = m.group(1) if m else None
        elif line.startswith("http-check expect"):
            facts["expect"] = line
    ds = facts["default_server"]

    def opt(name, default):
        m = re.search(rf"\b{name}\s+(\S+)", ds)
        return m.group(1) if m else default

    facts["check"] = " check " in f" {ds} "
    facts["inter"] = duration_secs(opt("inter", "2s"))
    facts["fastinter"] = duration_secs(opt("fastinter", opt("inter", "2s")))
    facts["fall"] = int(opt("fall", "3"))
    return facts


def example_vars(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


@section("compose files: health, limits, volumes, env files, migrate job, replicas, LB, shutdown timings")
def check_compose(
    files: dict[str, Path], df: Dockerfile, cfg_vars: dict[str, dict], commands: dict[str, set[str]]
) -> None:
    hap = haproxy_facts()

    def default(name: str) -> int:
        return int(cfg_vars[name]["default"])

    for env_name, path in files.items():
        where = rel(path)
        doc = yaml.safe_load(path.read_text())
        services: dict[str, dict] = doc.get("services") or {}
        top_volumes = set((doc.get("volumes") or {}).keys())
        strict = env_name != "dev"
        if doc.get("name") != f"unioneyes-{env_name}":
            fail(where, f"top-level name should be unioneyes-{env_name} (own volumes and networks per setup)")
        apps = {n: s for n, s in services.items() if is_app(s)}
        serve = {n: s for n, s in apps.items() if command_list(s) in ([], ["serve"])}
        migrate = {n: s for n, s in apps.items() if command_list(s) == ["migrate"]}
        pg = {n: s for n, s in services.items() if image_name(s) == "postgres"}
        redis = {n: s for n, s in services.items() if image_name(s) == "redis"}
        lbs = {n: s for n, s in services.items() if image_name(s) == "haproxy"}
        if len(pg) != 1 or len(redis) != 1:
            fail(where, "expected one postgres and one redis service")
            continue
        pg_name, pg_svc = next(iter(pg.items()))
        redis_name, redis_svc = next(iter(redis.items()))

        # Every service: limits, healthcheck unless one-shot.
        for name, svc in services.items():
            limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
            if not limits.get("cpus") or not limits.get("memory"):
                fail(where, f"{name}: deploy.resources.limits needs cpus and memory")
            one_shot = svc.get("restart") == "no"
            hc = svc.get("healthcheck") or {}
            if not one_shot and (not hc.get("test") or hc.get("disable")):
                fail(where, f"{name}: no healthcheck")
            if not one_shot and svc.get("restart") not in ("unless-stopped", "always"):
                fail(where, f"{name}: restart should be unless-stopped")

        # PostgreSQL and Redis: named volumes, the right probes, no ports outside dev.
        for name, svc, mount, probe in (
            (pg_name, pg_svc, "/var/lib/postgresql/data", "pg_isready"),
            (redis_name, redis_svc, "/data", "redis-cli"),
        ):
            vols = [str(v) for v in svc.get("volumes") or []]
            named = [v.split(":")[0] for v in vols if v.split(":")[1:2] == [mount]]
            if not named or named[0] not in top_volumes:
                fail(where, f"{name}: {mount} must be a named volume declared under volumes:")
            if probe not in " ".join(map(str, (svc.get("healthcheck") or {}).get("test", []))):
                fail(where, f"{name}: the healthcheck should use {probe}")
            for p in published(svc):
                if strict:
                    fail(where, f"{name}: publishes {p}; PostgreSQL/Redis stay unpublished outside development")
                elif not p.startswith("127.0.0.1:"):
                    fail(where, f"{name}: publishes {p} on every interface; bind 127.0.0.1")

        # The service containers: env files, APP_ENV, healthcheck = the image's.
        example = ROOT / f"docker/env/{env_name}.env.example"
        if not example.exists():
            fail(where, f"{rel(example)} is missing")
        real = f"docker/env/{env_name}.env"
        if tool_run(["git", "check-ignore", "-q", real]).returncode != 0:
            fail(".gitignore", f"{real} (secrets) is not git-ignored")
        for name, svc in apps.items():
            entries = env_file_entries(svc)
            paths = [p for p, _ in entries]
            if f"./env/{env_name}.env" not in paths:
                fail(where, f"{name}: env_file should include ./env/{env_name}.env")
            if strict and not all(req for _, req in entries):
                fail(where, f"{name}: env_file must be required outside development")
            env = env_dict(svc)
            if env.get("APP_ENV") != ENVS[env_name]:
                fail(where, f"{name}: APP_ENV should be {ENVS[env_name]}")
            if env.get("HOST") != "0.0.0.0":
                fail(where, f"{name}: HOST should be 0.0.0.0 (reachable from the other containers)")
            check_invocation(f"{where} {name}", command_list(svc) or ["serve"], commands)
        if not migrate:
            fail(where, "no one-shot migrate service (command: [migrate])")
        for name, svc in migrate.items():
            if svc.get("restart") != "no":
                fail(where, f'{name}: a one-shot job needs restart: "no"')
            if depends(svc).get(pg_name) != "service_healthy":
                fail(where, f"{name}: should depend on {pg_name} being service_healthy")

        # The replicas.
        want = 2 if strict else 1
        count = sum(int((s.get("deploy") or {}).get("replicas", 1)) for s in serve.values())
        if count < want:
            fail(where, f"{count} service replica(s); {want} expected")
        for name, svc in serve.items():
            env = env_dict(svc)
            hc = (svc.get("healthcheck") or {}).get("test") or []
            if hc[:1] == ["CMD"]:
                hc = hc[1:]
            if hc != getattr(df, "healthcheck", None):
                fail(
                    where, f"{name}: healthcheck {hc} differs from the Dockerfile's {getattr(df, 'healthcheck', None)}"
                )
            d = depends(svc)
            for m in migrate:
                if d.get(m) != "service_completed_successfully":
                    fail(where, f"{name}: should depend on {m}: service_completed_successfully")
            for dep in (pg_name, redis_name):
                if d.get(dep) != "service_healthy":
                    fail(where, f"{name}: should depend on {dep}: service_healthy")
            drain = int(env.get("SHUTDOWN_DRAIN_SECS") or default("SHUTDOWN_DRAIN_SECS"))
            grace = int(env.get("SHUTDOWN_GRACE_SECS") or default("SHUTDOWN_GRACE_SECS"))
            flush = int(env.get("ANALYTICS_SHUTDOWN_FLUSH_MS") or default("ANALYTICS_SHUTDOWN_FLUSH_MS")) / 1000
            stop = duration_secs(svc.get("stop_grace_period", "10s"))
            if stop <= drain + grace + flush:
                fail(
                    where,
                    f"{name}: stop_grace_period {stop:g}s must exceed drain {drain}s + grace {grace}s + analytics flush {flush:g}s",
                )
            if strict:
                detect = hap["inter"] + (hap["fall"] - 1) * hap["fastinter"]
                if detect >= drain:
                    fail(
                        where,
                        f"{name}: HAProxy needs up to {detect:g}s to take a replica out, SHUTDOWN_DRAIN_SECS is {drain}",
                    )
                req_timeout = int(env.get("REQUEST_TIMEOUT_SECS") or default("REQUEST_TIMEOUT_SECS"))
                if not hap["timeout_server"] or hap["timeout_server"] <= req_timeout:
                    fail(
                        "docker/haproxy/haproxy.cfg",
                        f"timeout server must exceed REQUEST_TIMEOUT_SECS ({req_timeout}s)",
                    )
                if env.get("DATABASE_MIGRATE_ON_STARTUP") != "false":
                    warn(where, f"{name}: DATABASE_MIGRATE_ON_STARTUP is not false (the migrate job runs them)")
            if strict and published(svc):
                fail(where, f"{name}: replicas are reached through the LB only, not published ports")
            if strict:
                # /metrics: an internal listener per replica (docs/monitoring.md), so
                # Prometheus reaches each one directly and never through the LB.
                mport = env.get("METRICS_PORT", "")
                if not mport.isdigit() or int(mport) == 0 or mport == env.get("PORT", "8080"):
                    fail(
                        where,
                        f"{name}: METRICS_PORT must be a fixed port other than PORT (got {mport or 'unset'}):"
                        " without it /metrics is off or unreachable per replica",
                    )
                elif env.get("METRICS_HOST") != "0.0.0.0":
                    fail(where, f"{name}: METRICS_HOST should be 0.0.0.0 (the default 127.0.0.1 is unreachable)")
                for pub in published(svc):
                    if pub.rsplit(":", 1)[-1].split("/")[0] == mport:
                        fail(where, f"{name}: publishes the metrics port ({pub}); keep it on the internal networks")

        # PostgreSQL connections: every pool plus the probe connections fit.
        pg_cmd = command_list(pg_svc)
        mc = next((int(a.split("=")[1]) for a in pg_cmd if a.startswith("max_connections=")), 100)
        pools = 0
        for name, svc in apps.items():
            pool = int(env_dict(svc).get("DATABASE_POOL_MAX") or default("DATABASE_POOL_MAX"))
            pools += pool + (1 if name in serve else 0)
        if pools + 3 > mc:
            fail(where, f"PostgreSQL max_connections={mc} is below the pools' {pools} (+3 reserved)")

        # Redis: noeviction (redis.conf), maxmemory under the container limit, a password outside dev.
        rcmd = command_list(redis_svc)
        if "/usr/local/etc/redis/redis.conf" not in rcmd or not any(
            str(v).startswith("./redis/redis.conf:/usr/local/etc/redis/redis.conf")
            for v in redis_svc.get("volumes") or []
        ):
            fail(where, f"{redis_name}: should run with ./redis/redis.conf")
        if "--maxmemory" not in rcmd:
            fail(where, f"{redis_name}: --maxmemory missing")
        else:
            maxmem = mem_bytes(rcmd[rcmd.index("--maxmemory") + 1])
            limit = mem_bytes(redis_svc["deploy"]["resources"]["limits"]["memory"])
            if maxmem * 1.5 > limit:
                fail(
                    where, f"{redis_name}: maxmemory leaves less than half of it as headroom under the container limit"
                )
        if strict:
            if "--requirepass" not in rcmd:
                fail(where, f"{redis_name}: --requirepass missing")
            for name, svc in apps.items():
                url = env_dict(svc).get("REDIS_URL", "")
                if "${REDIS_PASSWORD" not in url:
                    fail(where, f"{name}: REDIS_URL should carry ${{REDIS_PASSWORD}}")

        if not strict:
            continue

        # The load balancer in front of exactly these replicas.
        if len(lbs) != 1:
            fail(where, "expected one haproxy load balancer service")
            continue
        lb_name, lb = next(iter(lbs.items()))
        if not any(str(v).startswith("./haproxy/haproxy.cfg:") for v in lb.get("volumes") or []):
            fail(where, f"{lb_name}: should mount ./haproxy/haproxy.cfg")
        if set(hap["servers"]) != set(serve):
            fail(
                "docker/haproxy/haproxy.cfg",
                f"servers {sorted(hap['servers'])} differ from the {where} replicas {sorted(serve)}",
            )
        for name, (host, port) in hap["servers"].items():
            if name in serve and (host != name or port != env_dict(serve[name]).get("PORT", "8080")):
                fail(
                    "docker/haproxy/haproxy.cfg",
                    f"server {name} should point at {name}:{env_dict(serve[name]).get('PORT')}",
                )
        if not hap["check"] or hap["check_uri"] != "/readyz" or "status 200" not in (hap["expect"] or ""):
            fail("docker/haproxy/haproxy.cfg", "servers must be checked with GET /readyz expecting 200")
        for name in serve:
            if depends(lb).get(name) != "service_healthy":
                fail(where, f"{lb_name}: should depend on {name}: service_healthy")
        # Besides the LB, only opt-in monitoring-profile services, on loopback.
        def opt_in_loopback(s: dict) -> bool:
            return "monitoring" in (s.get("profiles") or []) and all(
                p.startswith("127.0.0.1:") for p in published(s)
            )

        others = [n for n, s in services.items() if published(s) and n != lb_name and not opt_in_loopback(s)]
        if others:
            fail(where, f"only the LB publishes ports; also: {others}")
        # A bundled Prometheus (monitoring profile) scrapes exactly the replicas' metrics ports.
        mtargets = {f"{n}:{env_dict(s).get('METRICS_PORT')}" for n, s in serve.items()}
        for pname, psvc in services.items():
            if image_name(psvc) != "prometheus":
                continue
            if "monitoring" not in (psvc.get("profiles") or []):
                fail(where, f"{pname}: should be in the monitoring profile (opt-in)")
            if "backend" not in (psvc.get("networks") or []):
                fail(where, f"{pname}: should be on the backend network with the replicas")
            srcs = [c.get("source") if isinstance(c, dict) else c for c in psvc.get("configs") or []]
            targets: set[str] = set()
            for src in srcs:
                pc = yaml.safe_load(((doc.get("configs") or {}).get(src) or {}).get("content") or "{}") or {}
                for job in pc.get("scrape_configs") or []:
                    if job.get("job_name") == "unioneyes":
                        for sc in job.get("static_configs") or []:
                            targets |= set(sc.get("targets") or [])
            if targets != mtargets:
                fail(where, f"{pname}: job unioneyes scrapes {sorted(targets)}, expected {sorted(mtargets)}")
        # TRUSTED_PROXIES is the LB's fixed address, inside its network's subnet.
        lb_nets = lb.get("networks") or {}
        addr = None
        if isinstance(lb_nets, dict):
            for net, conf in lb_nets.items():
                if conf and conf.get("ipv4_address"):
                    addr = conf["ipv4_address"]
                    subnets = [
                        c["subnet"]
                        for c in ((doc.get("networks") or {}).get(net) or {}).get("ipam", {}).get("config", [])
                    ]
                    if not any(ipaddress.ip_address(addr) in ipaddress.ip_network(s) for s in subnets):
                        fail(where, f"{lb_name}: {addr} is outside network {net}'s subnet {subnets}")
        for name, svc in serve.items():
            if env_dict(svc).get("TRUSTED_PROXIES") != addr:
                fail(where, f"{name}: TRUSTED_PROXIES should be the LB's fixed address {addr}")

        # The env example lists every variable production needs and no secret value.
        if example.exists():
            ex = example_vars(example)
            set_by_compose = set(env_dict(next(iter(serve.values()))))
            for var, spec in cfg_vars.items():
                if spec["required"] in ("strict", "always") and var not in set_by_compose and var not in ex:
                    fail(rel(example), f"{var} is required in {ENVS[env_name]} but not listed")
            text = path.read_text()
            for var in set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text)):
                if var not in ex:
                    fail(rel(example), f"{var} (used by {where}) is not listed")
            if not re.search(r"^#?\s*METRICS_TOKEN=", example.read_text(), re.M):
                fail(rel(example), "METRICS_TOKEN (optional, the metrics listener's token) is not listed")
            for var, value in ex.items():
                secret = cfg_vars.get(var, {}).get("secret") or var.endswith("PASSWORD")
                if secret and value.strip():
                    fail(rel(example), f"{var} has a value; secrets stay empty in the committed example")


def main() -> int:
    started = time.monotonic()
    ws = cargo_workspace()
    cfg_vars = config_vars()
    if len(cfg_vars) < 40 or "DATABASE_URL" not in cfg_vars:
        print(
            f"cannot read src/config/vars.rs (found {len(cfg_vars)} variables); update config_vars()", file=sys.stderr
        )
        return 1
    commands = cli_commands()
    if "serve" not in commands:
        print(f"cannot read the subcommands of src/cli/mod.rs (found {sorted(commands)})", file=sys.stderr)
        return 1
    df = Dockerfile(ROOT / "docker/Dockerfile")
    compose = {e: ROOT / f"docker/compose.{e}.yml" for e in ENVS}
    missing = [rel(p) for p in compose.values() if not p.exists()]
    if missing:
        print(f"missing: {missing}", file=sys.stderr)
        return 1
    replicas = set(haproxy_facts()["servers"])

    check_hadolint()
    check_yamllint()
    check_dclint(list(compose.values()))
    check_haproxy(replicas)
    check_redis_conf()
    check_dockerfile(df, commands, ws)
    check_compose(compose, df, cfg_vars, commands)
    check_dockerignore(ws)
    check_with_binary()
    check_lockfile()

    for w in warnings:
        print(f"  warning: {w}")
    took = time.monotonic() - started
    if failures:
        print(f"\n{len(failures)} container check(s) failed ({took:.1f}s)", file=sys.stderr)
        return 1
    print(f"all container checks passed ({took:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
