"""The four distributions install on their own, as wheels and as editable installs.

Each layout is built in a fresh virtual environment with ``--no-deps``: only the
packaging of pyacq itself is under test (dependencies are covered by the nox
``imports`` session). Builds are isolated, as pip does for a user: the build
backend (setuptools) comes from the package index.
"""
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = ["pyacq-core", "pyacq-devices", "pyacq-dsp", "pyacq-viewers"]
PACKAGES = ["pyacq", "pyacq.core", "pyacq.devices", "pyacq.dsp", "pyacq.viewers"]

IMPORT_CHECK = """
import importlib, json, sys
result = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        result[name] = "ok"
    except ImportError as exc:
        result[name] = type(exc).__name__
print(json.dumps(result))
"""


def run(*args, cwd=None):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=240, cwd=cwd,
                            check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def make_venv(path):
    """A bare venv; this environment's pip installs into it (``pip --python``)."""
    venv.EnvBuilder(with_pip=False).create(path)
    return path / "bin" / "python"


def imports(python, packages=PACKAGES):
    import json
    return json.loads(run(python, "-c", IMPORT_CHECK, *packages, cwd="/").splitlines()[-1])


def pip(python, *args):
    run(sys.executable, "-m", "pip", "--python", python, *args)


def pip_install(python, *args):
    pip(python, "install", "-q", "--no-deps", *args)


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    """A copy of the distributions, so that builds leave no file in the checkout."""
    root = tmp_path_factory.mktemp("src")
    for name in DISTRIBUTIONS:
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return root


@pytest.fixture(scope="module")
def wheels(source_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    for name in DISTRIBUTIONS:
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, source_copy / name)
    return out


def test_wheels_do_not_collide(wheels):
    """Only pyacq-core ships pyacq/__init__.py; each plugin wheel ships only its subpackage."""
    import zipfile
    for wheel in wheels.glob("*.whl"):
        files = [n for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")]
        top = {"/".join(n.split("/")[:2]) for n in files}
        if wheel.name.startswith("pyacq_core-"):
            assert "pyacq/__init__.py" in files and "pyacq/core" in top
        else:
            plugin = wheel.name.split("-")[0].removeprefix("pyacq_")
            assert top == {f"pyacq/{plugin}"}, (wheel.name, top)


def test_wheel_install_and_uninstall_one_plugin(wheels, tmp_path):
    """Wheel installs import all packages; uninstalling one plugin leaves the others importable."""
    python = make_venv(tmp_path / "venv")
    pip_install(python, *sorted(wheels.glob("*.whl")))
    assert imports(python) == dict.fromkeys(PACKAGES, "ok")
    pip(python, "uninstall", "-q", "-y", "pyacq-dsp")
    assert imports(python) == {**dict.fromkeys(PACKAGES, "ok"), "pyacq.dsp": "ModuleNotFoundError"}


def test_editable_install(source_copy, tmp_path):
    """Editable installs of the four distributions import all packages, from the source trees."""
    python = make_venv(tmp_path / "venv")
    for name in DISTRIBUTIONS:
        pip_install(python, "-e", source_copy / name)
    assert imports(python) == dict.fromkeys(PACKAGES, "ok")
    location = run(python, "-c", "import pyacq.dsp; print(pyacq.dsp.__file__)", cwd="/").strip()
    assert Path(location).is_relative_to(source_copy / "pyacq-dsp")


def test_mixed_editable_plugin_over_wheel_core(wheels, source_copy, tmp_path):
    """A plugin under development (editable) works beside a wheel-installed core."""
    python = make_venv(tmp_path / "venv")
    pip_install(python, next(wheels.glob("pyacq_core-*.whl")))
    pip_install(python, "-e", source_copy / "pyacq-viewers")
    assert imports(python, ["pyacq", "pyacq.viewers", "pyacq.devices"]) == {
        "pyacq": "ok", "pyacq.viewers": "ok", "pyacq.devices": "ModuleNotFoundError"}
