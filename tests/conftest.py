"""Fixtures shared by the whole test tree."""
import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from hypothesis import HealthCheck, settings

# Test support modules (process_checks) are importable from every test module.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from process_checks import TEST_RUN_VARIABLE  # importable through the path set above

# Every process a test starts carries this run's tag, so that the leftover-file checks tell
# the files of this run's processes (orphans included) from those of a run at the same time.
os.environ[TEST_RUN_VARIABLE] = uuid.uuid4().hex

# Qt widgets render offscreen in every test process (and the processes they spawn),
# at a whole device pixel ratio, so that a grabbed widget's pixels map 1:1 to its
# logical coordinates whoever created the QApplication (pyqtgraph's mkQApp asks
# for fractional high-DPI scaling, 1.04 on the offscreen screen).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR_ROUNDING_POLICY", "Round")

# Property-based tests (tests/fuzz) run a few seconds each in the suite ("ci", the default);
# ``nox -s fuzz`` runs the same targets for long ("--hypothesis-profile fuzz"). Examples are
# random per run, never stored: a failure prints the example to reproduce it.
_FUZZ_SETTINGS = {"deadline": None, "database": None, "print_blob": True,
                  "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=300, **_FUZZ_SETTINGS)
settings.register_profile("fuzz", max_examples=1_000_000, **_FUZZ_SETTINGS)
settings.load_profile("ci")


def write_distribution(root, name, entry_points=None, modules=None):
    """Write an installed distribution (dist-info metadata + modules) under ``root``.

    importlib.metadata discovers it like any pip-installed package once
    ``root`` is on sys.path: these are real metadata files, read by the real
    discovery machinery.
    """
    dist_info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = []
    for group, entries in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module_name, source in (modules or {}).items():
        (root / f"{module_name}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def site_dir(tmp_path):
    """A directory to write fake installed distributions into (see ``write_distribution``)."""
    site = tmp_path / "site"
    site.mkdir()
    return site


@pytest.fixture
def installed_distributions(site_dir):
    """Install fake distributions into a directory put on sys.path for this test only."""
    from pyacq.core import registry
    sys.path.insert(0, str(site_dir))

    def install(name, entry_points=None, modules=None):
        write_distribution(site_dir, name, entry_points, modules)
        registry.refresh_entry_points()

    yield install
    sys.path.remove(str(site_dir))
    for module_name in [m for m, mod in sys.modules.items()
                        if str(site_dir) in (getattr(mod, "__file__", None) or "")]:
        del sys.modules[module_name]
    registry.refresh_entry_points()


def _run_python(code, extra_path=(), timeout=60, check=True):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_path), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=env, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def importable_in_children():
    """``importable_in_children(directory)``: make the modules of *directory* importable by name
    for the rest of the session, here (sys.path) and in spawned processes (which inherit
    PYTHONPATH); PYTHONPATH is restored at the end of the session."""
    old = os.environ.get("PYTHONPATH")

    def add(directory):
        if directory not in sys.path:
            sys.path.insert(0, directory)
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (directory, os.environ.get("PYTHONPATH")) if p)

    yield add
    if old is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture
def write_dist():
    """``write_dist(root, name, entry_points=None, modules=None)``: see ``write_distribution``."""
    return write_distribution


@pytest.fixture
def run_python():
    """``run_python(code, extra_path=(), timeout=60, check=True)``: run ``code`` in a fresh
    interpreter of this environment and return the completed process (stdout, stderr)."""
    return _run_python


@pytest.fixture
def manager():
    """A Manager in its own process; closed at teardown (unless the test closed it), leaving no
    process and no file behind (pyacq.testing.running_manager)."""
    from pyacq.testing import running_manager
    with running_manager() as man:
        yield man
