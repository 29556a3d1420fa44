"""deploy/install.sh, the Dockerfile's install step, run here into a fresh virtual environment.

This machine has no Docker engine, so the image itself is never built in CI. What the image runs
is checked instead: the same script installs a wheel (not the checkout) into a new environment,
and the installed `rongcuo` migrates, backs up and serves from a directory outside the checkout,
answering the Dockerfile's own HEALTHCHECK command.

pip's cache is left on, so runs after the first take seconds. Offline, where pip cannot reach the
package index, the tests are skipped (and fail under CI=true); `-m "not network"` leaves them out.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import IN_CI
from tests.deploy.test_deploy_files import DEPLOY, ROOT, healthcheck_command

pytestmark = [pytest.mark.network, pytest.mark.timeout(900)]

# What pip prints when it cannot reach the index (as opposed to a broken build or dependency).
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectTimeoutError",
)


@dataclass(frozen=True)
class Installed:
    prefix: Path
    workdir: Path  # outside the checkout: nothing can be imported from the source tree

    def env(self, **extra: str) -> dict[str, str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RONGCUO_", "PYTHON")) and k not in ("VIRTUAL_ENV",)
        }
        return {
            **clean,
            "PATH": f"{self.prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "RONGCUO_DATA_DIR": str(self.workdir / "data"),
            "RONGCUO_DATABASE_URL": f"sqlite:///{self.workdir / 'deployed.sqlite3'}",
            **extra,
        }

    def rongcuo(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.prefix / "bin" / "rongcuo"), *args],
            cwd=self.workdir,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    prefix, workdir = base / "venv", base / "work"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_NO_CACHE_DIR", "VIRTUAL_ENV", "PYTHONPATH")}
    result = subprocess.run(
        ["sh", str(DEPLOY / "install.sh"), str(prefix)],
        cwd=workdir,
        env={**env, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if any(sign in output for sign in OFFLINE_SIGNS) and not IN_CI:
            pytest.skip(f"pip cannot reach the package index: {output.strip().splitlines()[-1]}")
        pytest.fail(f"deploy/install.sh failed ({result.returncode}):\n{output}")
    assert result.stdout.strip().endswith(f"into {prefix}")
    return Installed(prefix, workdir)


def site_packages(installed: Installed) -> Path:
    (found,) = (installed.prefix / "lib").glob("python3*/site-packages")
    return found


def test_the_environment_holds_a_wheel_not_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.prefix / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
        cwd=installed.workdir,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    packages = site_packages(installed)
    assert Path(where).is_relative_to(packages)
    assert not list(packages.glob("__editable__*")) and not list(packages.glob("*.egg-link"))


@pytest.mark.parametrize(
    "pattern",
    [
        "dialogs/locales/*.po",
        "dialogs/data/*.yaml",
        "dialogs/policy/packs/*.yaml",
        "bot/channels/web_static/*",
        "storage/migrations/*.py",
        "storage/migrations/*.mako",
        "storage/migrations/versions/*.py",
    ],
)
def test_package_data_is_installed(installed: Installed, pattern: str) -> None:
    shipped = {p.relative_to(ROOT) for p in ROOT.glob(pattern) if p.is_file()}
    assert shipped, pattern
    packages = site_packages(installed)
    assert shipped <= {p.relative_to(packages) for p in packages.glob(pattern)}


def test_migrate_serve_back_up_live_and_answer_the_dockerfile_healthcheck(installed: Installed) -> None:
    # An explicit database URL, like PostgreSQL in production: migrated only on request.
    refused = installed.rongcuo("run")
    assert refused.returncode == 2 and "Run: rongcuo db upgrade" in refused.stderr

    upgraded = installed.rongcuo("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database schema: empty -> ")
    revision = upgraded.stdout.strip().rpartition("-> ")[2]

    port = _free_port()
    probe_env = installed.env(RONGCUO_HTTP_PORT=str(port))
    healthcheck = ["sh", "-c", healthcheck_command()]
    log_path = installed.workdir / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(installed.prefix / "bin" / "rongcuo"), "run"],
            cwd=installed.workdir,
            env=installed.env(RONGCUO_HTTP_HOST="127.0.0.1", RONGCUO_HTTP_PORT=str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while _healthz(port) != 200:
                assert process.poll() is None, log_path.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "no /healthz within 90 s"
                time.sleep(0.2)

            # The image's HEALTHCHECK, run as Docker runs it (sh -c, the environment's python first).
            probe = subprocess.run(healthcheck, env=probe_env, capture_output=True, text=True, timeout=30)
            assert probe.returncode == 0, probe.stderr

            # An online backup of the database the running program has open.
            backup = installed.rongcuo("db", "backup", "--out", "backups/live.sqlite3")
            assert backup.returncode == 0, backup.stderr
            copy = installed.workdir / "backups" / "live.sqlite3"
            assert backup.stdout.strip() == (
                f"backup written: {copy} ({copy.stat().st_size} bytes, schema revision {revision})"
            )
            with sqlite3.connect(copy) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (revision,)
        finally:
            process.terminate()
            try:
                stopped = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    assert stopped == 0, log_path.read_text(encoding="utf-8")  # SIGTERM is a clean shutdown
    down = subprocess.run(healthcheck, env=probe_env, capture_output=True, text=True, timeout=30)
    assert down.returncode != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
