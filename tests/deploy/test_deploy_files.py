"""The files in deploy/, checked as far as this machine allows (it has no Docker engine).

Each file is parsed for the promises docs/operations.md makes about it; where the real tool is
installed (a compose CLI, systemd-analyze, nginx) it checks the file too, and is skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


# --- deploy/.env.example ----------------------------------------------------------------------------

ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines() -> list[tuple[bool, str, str]]:
    """(commented, name, value) for every KEY=value line, commented out or not."""
    found = []
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            found.append((match.group(1) is not None, match.group(2), match.group(3)))
    return found


def test_env_example_documents_exactly_the_settings_the_program_reads() -> None:
    documented = [name for _, name, _ in example_lines() if name.startswith("RONGCUO_")]
    expected = {f"RONGCUO_{field.upper()}" for field in Settings.model_fields}
    assert len(documented) == len(set(documented)), "a setting is listed twice"
    assert set(documented) - expected == set(), "listed but not a setting (renamed or removed?)"
    assert expected - set(documented) == set(), "settings missing from deploy/.env.example"


def test_env_example_shows_the_real_defaults_and_valid_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("RONGCUO_"):
            monkeypatch.delenv(key)
    values = {name: value for _, name, value in example_lines() if name.startswith("RONGCUO_")}
    for name, value in values.items():
        default = Settings.model_fields[name.removeprefix("RONGCUO_").lower()].default
        if default is not None:
            assert value == str(default), f"{name}: the example shows {value!r}, the default is {default!r}"
        monkeypatch.setenv(name, value)
    Settings(_env_file=None)  # type: ignore[call-arg]  # every example value is accepted


def test_env_example_sets_no_secret_and_its_copies_are_never_committed() -> None:
    active = {name: value for commented, name, value in example_lines() if not commented}
    assert set(active) == {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    assert active["POSTGRES_PASSWORD"].startswith("change-me")
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        assert "$" not in line.split("#")[0] and '"' not in line, f"not a plain KEY=value line: {line}"
    ignored = subprocess.run(["git", "check-ignore", "--quiet", "deploy/.env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "deploy/.env must be ignored by git"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "deploy/.env"], cwd=ROOT, capture_output=True, check=False
    )
    assert tracked.returncode != 0, "deploy/.env is committed"


# --- deploy/compose.yaml ----------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_bot_after_a_healthy_database_and_a_successful_migration() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"db", "migrate", "bot"}
    db, migrate, bot = services["db"], services["migrate"], services["bot"]

    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.split(":")[0] in spec["volumes"] for v in db["volumes"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "ports" not in db  # the database is reachable from the bot's network only

    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert "upgrade" not in bot["command"]
    assert all(port.startswith("127.0.0.1:") for port in bot["ports"])
    assert any(v.endswith(":/var/lib/rongcuo/data") for v in bot["volumes"])

    for service in (migrate, bot):
        assert service["env_file"] == ".env"
        assert service["image"] == migrate["image"]
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        )
        url = service["environment"]["RONGCUO_DATABASE_URL"]
        assert url.startswith("postgresql://") and "@db:5432/" in url and "${POSTGRES_PASSWORD:?" in url


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker") or (
        "/usr/local/bin/docker" if Path("/usr/local/bin/docker").exists() else None
    )
    if docker:
        plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30, check=False)
        if plugin.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_is_accepted_by_the_compose_cli(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    # A copy with the example as its .env: the real deploy/.env is the operator's and may not exist.
    project = tmp_path / "deploy"
    project.mkdir()
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(DEPLOY / name, project / name)
    shutil.copy(DEPLOY / ".env.example", project / ".env")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "RONGCUO_", "COMPOSE_"))}

    def config() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, "--project-directory", str(project), "-f", str(project / "compose.yaml"), "config"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    result = config()
    assert result.returncode == 0, result.stderr
    bot_env = yaml.safe_load(result.stdout)["services"]["bot"]["environment"]
    assert bot_env["RONGCUO_DATABASE_URL"] == (
        "postgresql://rongcuo:change-me-to-a-long-random-hex-string@db:5432/rongcuo"
    )

    # Without a password compose refuses to start anything, naming the file to fill in.
    (project / ".env").write_text("POSTGRES_DB=rongcuo\n", encoding="utf-8")
    missing = config()
    assert missing.returncode != 0 and "set POSTGRES_PASSWORD in deploy/.env" in missing.stderr


# --- deploy/Dockerfile ------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest, flags=re.IGNORECASE)
            assert match, f"every stage is named: FROM {rest}"
            current = found.setdefault(match.group(2), [])
        elif current is not None:
            current.append((keyword, rest))
    return found


def healthcheck_command() -> str:
    (rest,) = [rest for keyword, rest in stages()["runtime"] if keyword == "HEALTHCHECK"]
    return rest.split(" CMD ", 1)[1]


def test_dockerfile_is_multi_stage_slim_and_runs_as_a_user() -> None:
    built = stages()
    assert list(built) == ["build", "runtime"]
    (base,) = [rest for keyword, rest in dockerfile_instructions() if keyword == "ARG"]
    assert base.startswith("PYTHON_IMAGE=python:") and "-slim" in base

    runtime = built["runtime"]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(k == "COPY" and rest.startswith("--from=build /opt/rongcuo") for k, rest in runtime)
    assert any(
        k == "RUN" and "fonts-noto-cjk" in rest and "rm -rf /var/lib/apt/lists" in rest for k, rest in runtime
    )
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "RONGCUO_HTTP_HOST=0.0.0.0" in env and "RONGCUO_DATA_DIR=/var/lib/rongcuo/data" in env

    assert "/healthz" in healthcheck_command() and "curl" not in healthcheck_command()
    start = [rest for keyword, rest in runtime if keyword in ("ENTRYPOINT", "CMD")]
    assert start == ['["rongcuo"]', '["run"]']
    assert not any(
        "upgrade" in rest for keyword, rest in dockerfile_instructions() if keyword in ("CMD", "ENTRYPOINT")
    )


def test_dockerfile_installs_with_the_script_ci_runs_and_copies_what_it_needs() -> None:
    build = stages()["build"]
    runs = [rest for keyword, rest in build if keyword == "RUN"]
    assert len(runs) == 1 and runs[0].endswith("sh deploy/install.sh /opt/rongcuo")
    copied = {
        source
        for keyword, rest in build
        if keyword == "COPY"
        for source in shlex.split(rest)[:-1]
        if not source.startswith("--")
    }
    script = (DEPLOY / "install.sh").read_text(encoding="utf-8")
    needed = set(re.findall(r'"\$source_dir/([^"]+)"', script))
    assert needed == {"pyproject.toml", "README.md", "bot", "dialogs", "storage"}
    assert needed | {"deploy/install.sh"} == copied
    # The build context is filtered by deploy/Dockerfile.dockerignore: everything COPY needs passes.
    allowed = {
        line[1:]
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert copied <= allowed


# --- deploy/rongcuo.service -------------------------------------------------------------------------


def unit() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / "rongcuo.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_systemd_unit_runs_as_a_hardened_service_user_and_never_migrates() -> None:
    keys = unit()
    assert keys["User"] == ["rongcuo"] and keys["Group"] == ["rongcuo"]
    assert keys["WorkingDirectory"] == ["/var/lib/rongcuo"]
    assert keys["EnvironmentFile"] == ["/etc/rongcuo/rongcuo.env"]
    assert keys["ExecStart"] == ["/opt/rongcuo/bin/rongcuo run"]
    assert keys["Restart"] == ["on-failure"]
    assert "/var/lib/rongcuo" in keys["ReadWritePaths"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert keys[key] == [value], key
    assert not any(key.startswith("ExecStartPre") or key.startswith("ExecStartPost") for key in keys)
    assert not any(
        "upgrade" in value for key, values in keys.items() if key.startswith("Exec") for value in values
    )


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify also checks that ExecStart's program exists and is executable, and /opt/rongcuo is
    # only there on an installed machine: a copy of the unit points ExecStart at a stand-in.
    standin = tmp_path / "rongcuo"
    standin.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    standin.chmod(0o755)
    text = (DEPLOY / "rongcuo.service").read_text(encoding="utf-8")
    copy = tmp_path / "rongcuo.service"
    copy.write_text(
        text.replace("ExecStart=/opt/rongcuo/bin/rongcuo run", f"ExecStart={standin} run"), encoding="utf-8"
    )
    assert copy.read_text(encoding="utf-8") != text
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify exits 0 even for unknown keys and only warns: any line about the unit is a finding.
    findings = [line for line in (result.stdout + result.stderr).splitlines() if copy.name in line]
    assert result.returncode == 0 and findings == [], result.stdout + result.stderr


# --- deploy/nginx.conf ------------------------------------------------------------------------------


def nginx_locations() -> dict[str, str]:
    """location prefix -> its block's body (the file has no nested blocks inside locations)."""
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"location\s+(?:\^~\s+|=\s+)?(\S+)\s*\{([^}]*)\}", code)
    }


def test_nginx_terminates_tls_and_routes_the_webhook_the_web_chat_and_no_public_metrics() -> None:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"^\s*listen 443 ssl", text, flags=re.MULTILINE)
    assert re.search(r"^\s*ssl_certificate \S+;", text, flags=re.MULTILINE)
    assert re.search(r"^\s*ssl_certificate_key \S+;", text, flags=re.MULTILINE)
    assert re.search(r"return 301 https://", text)
    assert re.search(r"upstream rongcuo \{\s*server 127\.0\.0\.1:8080;", text)

    locations = nginx_locations()
    assert {"/telegram/webhook/", "/metrics", "/", "/healthz"} <= set(locations)
    for path in ("/telegram/webhook/", "/metrics", "/"):
        assert "proxy_pass http://rongcuo;" in locations[path], path
    assert "access_log off;" in locations["/telegram/webhook/"]  # the path carries the secret
    metrics = [line.strip() for line in locations["/metrics"].splitlines() if line.strip()]
    assert metrics[-2:] == ["deny all;", "proxy_pass http://rongcuo;"]
    allowed = [line.split()[1].rstrip(";") for line in metrics if line.startswith("allow ")]
    assert "127.0.0.1" in allowed and "all" not in allowed and "0.0.0.0/0" not in allowed


def test_nginx_accepts_the_site_file(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx or openssl is not installed")
    # nginx -t loads the certificates: the copy points at a throwaway self-signed pair, and a
    # main file with its own prefix keeps pid, logs and temp paths inside tmp_path.
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = re.sub(r"ssl_certificate \S+;", f"ssl_certificate {tmp_path / 'cert.pem'};", site)
    site = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {tmp_path / 'key.pem'};", site)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log {tmp_path / 'access.log'};\n{temp_paths}\n    include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr
