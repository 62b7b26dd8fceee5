"""The four distributions install on their own, as wheels and as editable installs, and
the install commands of the README work as written.

Each layout is built in a fresh virtual environment with ``--no-deps``: only the
packaging of pyacq itself is under test (dependencies are covered by the nox
``imports`` session). Builds are isolated, as pip does for a user: the build
backend (setuptools) comes from the package index. The README's commands run
with their dependencies, offline (see ``third_party_site``).
"""
import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
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
    return json.loads(run(python, "-c", IMPORT_CHECK, *packages, cwd="/").splitlines()[-1])


def pip(python, *args):
    run(sys.executable, "-m", "pip", "--python", python, *args)


def pip_install(python, *args):
    pip(python, "install", "-q", "--no-deps", *args)


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    """A copy of the distributions and of the root's build files, so that builds leave no
    file in the checkout."""
    root = tmp_path_factory.mktemp("src")
    for name in [*DISTRIBUTIONS, "tools"]:
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture(scope="module")
def wheels(source_copy, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    for name in DISTRIBUTIONS:
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, source_copy / name)
    return out


def test_wheels_do_not_collide(wheels):
    """Only pyacq-core ships pyacq/__init__.py; each plugin wheel ships only its subpackage;
    each wheel ships the PEP 561 py.typed marker of its package (type checkers read its types)."""
    import zipfile
    for wheel in wheels.glob("*.whl"):
        files = [n for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")]
        top = {"/".join(n.split("/")[:2]) for n in files}
        if wheel.name.startswith("pyacq_core-"):
            assert "pyacq/__init__.py" in files and "pyacq/core" in top
            assert "pyacq/py.typed" in files
        else:
            plugin = wheel.name.split("-")[0].removeprefix("pyacq_")
            assert top == {f"pyacq/{plugin}"}, (wheel.name, top)
            assert f"pyacq/{plugin}/py.typed" in files


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


def readme_install_commands():
    """Every ``pip install`` line of the README's code blocks, as its arguments."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line, comments=True)[2:] for line in lines if line.startswith("pip install ")]


def test_the_documentation_install_lines_are_the_tested_ones():
    """Every ``pip install`` line of the getting-started page is one of the README's, which
    the test below runs as written: a user copying either gets a tested command."""
    text = (REPO / "docs" / "getting_started.rst").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("pip install ")]
    documented = [shlex.split(line, comments=True)[2:] for line in lines]
    assert documented, "no pip install line found in docs/getting_started.rst"
    untested = [line for line, args in zip(lines, documented) if args not in readme_install_commands()]
    assert not untested, f"install lines of the docs that README.md does not have (and no test runs): {untested}"


def local_directory(argument):
    """``"./pyacq-core[qt]"`` -> ``"pyacq-core"``; None for anything but a path."""
    return Path(argument.split("[")[0]).name if argument.startswith("./") else None


@pytest.fixture(scope="module")
def third_party_site(tmp_path_factory):
    """This environment's installed packages except pyacq's, linked into one directory.

    A fresh venv with this directory on its path (a .pth file) has every
    third-party dependency already installed and no pyacq distribution, so pip
    resolves the README's commands offline (``--no-index``): each pyacq
    distribution a command needs must come from a directory it names. The
    build backend (setuptools) is in it too, for ``--no-build-isolation``.
    """
    site = tmp_path_factory.mktemp("third-party-site")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.startswith(("pyacq", "__editable__", "pip")) or name.endswith(".pth"):
            continue
        (site / entry.name).symlink_to(entry)
    return site


def venv_with_third_party(path, site):
    python = make_venv(path)
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    Path(purelib, "third_party.pth").write_text(f"{site}\n")
    return python


@pytest.mark.parametrize("arguments", readme_install_commands(), ids=" ".join)
def test_readme_install_command_works_as_written(arguments, source_copy, third_party_site, tmp_path):
    """Each `pip install` line of the README, run from the checkout's root in a fresh venv that
    has the third-party dependencies but no pyacq, installs the pyacq distributions it names
    and nothing else: none is looked up on an index. Their packages import, the others do not."""
    directories = {local_directory(a) for a in arguments} - {None}
    assert directories and directories <= set(DISTRIBUTIONS), arguments
    python = venv_with_third_party(tmp_path / "venv", third_party_site)
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                             "--no-index", "--no-build-isolation", *arguments],
                            capture_output=True, text=True, timeout=600, cwd=source_copy, check=False)
    missing = re.search(r"No matching distribution found for ([A-Za-z0-9_.-]+)", result.stderr)
    if missing and not missing.group(1).lower().startswith("pyacq"):
        pytest.skip(f"{missing.group(1)} is not installed in this test environment")
    assert result.returncode == 0, f"pip install {shlex.join(arguments)}:\n{result.stdout}\n{result.stderr}"
    listed = json.loads(run(sys.executable, "-m", "pip", "--python", python, "list", "--format", "json"))
    installed = {p["name"] for p in listed if p["name"].startswith("pyacq")}
    assert installed == directories
    packages = {"pyacq-core": "pyacq.core", "pyacq-devices": "pyacq.devices", "pyacq-dsp": "pyacq.dsp",
                "pyacq-viewers": "pyacq.viewers"}
    assert imports(python, list(packages.values())) == {
        package: "ok" if dist in directories else "ModuleNotFoundError" for dist, package in packages.items()}


def test_root_install_stops_with_the_commands(source_copy, tmp_path):
    """`pip install .` (and -e) at the repository root installs nothing and fails, printing the
    README's install commands instead of building an empty 'UNKNOWN' distribution."""
    python = make_venv(tmp_path / "venv")
    readme_lines = {shlex.join(arguments) for arguments in readme_install_commands()}
    for editable in ([], ["-e"]):
        result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                 "--no-index", *editable, "."],
                                capture_output=True, text=True, timeout=240, cwd=source_copy, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0 and "UNKNOWN" not in output, output
        shown = [shlex.split(line.strip())[2:] for line in output.splitlines()
                 if line.strip().startswith("pip install ")]
        assert {shlex.join(arguments) for arguments in shown} == readme_lines, output
        assert f"From {source_copy}:" in output
    assert "pyacq" not in run(sys.executable, "-m", "pip", "--python", python, "list")
