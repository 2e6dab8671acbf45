"""``pip install .`` gives a working ``ordergate``: the wheel holds every module and data file
of the package (migrations, the blotter's and the docs' assets), the console script and the
pytest plugin; installed apart from the source tree, its command creates a demo database and
reads it back.

The wheel is built from a copy of the project, so that the run leaves the source tree as it
was (no build/ or egg-info in it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ordergate"


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(  # noqa: S603 - our own interpreter and arguments, no shell
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out.stdout


def _package_files() -> set[str]:
    """The package's files as a wheel names them (ordergate/...), without bytecode."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_the_whole_package_and_its_command_works(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    wheels = tmp_path / "wheels"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        wheels,
        project,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("ordergate-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entries = archive.read(entry_points).decode()
    missing = sorted(_package_files() - names)
    assert not missing, f"not in the wheel: {missing[:20]}"
    assert "ordergate = ordergate.cli:main" in entries
    assert "ordergate = ordergate.testing.plugin" in entries  # the pytest plugin

    # Installed on its own (its dependencies are this environment's), away from src/.
    site = tmp_path / "site"
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        site,
        wheel,
        cwd=tmp_path,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = _run(
        sys.executable, "-c", "import ordergate; print(ordergate.__file__)", cwd=tmp_path, env=env
    )
    assert Path(where.strip()).is_relative_to(site)
    command = site / "bin" / "ordergate"
    db = tmp_path / "demo.db"
    _run(sys.executable, command, "init", "--demo", "--db", db, cwd=tmp_path, env=env)
    users = _run(sys.executable, command, "user", "list", "--db", db, cwd=tmp_path, env=env)
    assert "demo" in users
