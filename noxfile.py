"""nox sessions: each installs the pyacq distributions from their own pyproject files.

Installing every distribution as a user would (not from the source tree on
sys.path) is the point: a dependency missing from one pyproject fails a session.
"""
import re
from pathlib import Path

import nox

try:
    import tomllib
except ImportError:  # Python 3.10: nox itself depends on tomli there
    import tomli as tomllib

nox.options.sessions = ["lint", "imports", "docs", "tests", "tests_minimum"]
nox.options.error_on_missing_interpreters = True

CORE = "./pyacq-core[qt,blosc,hdf5,av,testing]"
PLUGINS = ["./pyacq-devices[audio,av,imageio,serial,hid,crypto,lsl]", "./pyacq-dsp[opencl]",
           "./pyacq-viewers"]
EXAMPLE_PLUGIN = "./examples/plugin_sine"
#: Every pyproject whose ``>=`` bounds the ``tests_minimum`` session pins.
PYPROJECTS = ["pyacq-core", "pyacq-devices", "pyacq-dsp", "pyacq-viewers", "examples/plugin_sine"]
#: What tests/core needs (NumpyDeviceBuffer, SineGenerator, the filters whose outputs follow
#: their input, Qt, blosc), no more: every extra installed at its minimum is one more old
#: release to download in CI.
MINIMUM_INSTALL = ["./pyacq-core[qt,blosc]", "./pyacq-devices", "./pyacq-dsp", EXAMPLE_PLUGIN]
#: numpydoc parses the node docstrings in tests/system/test_node_configure_docs.py.
TEST_REQUIREMENTS = ["pytest>=8", "pytest-timeout>=2.3", "setuptools>=64", "wheel", "neo>=0.13",
                     "hypothesis>=6.100", "numpydoc>=1.6"]

#: What the documentation build needs besides pyacq (pytest: the gallery's sound server is
#: the test suite's, tests/pulse_daemon.py).
DOCS_REQUIREMENTS = ["sphinx>=7", "pydata-sphinx-theme>=0.15", "sphinx-gallery>=0.19",
                     "numpydoc>=1.6", "pytest>=8"]

# Each distribution without its optional extras (modules with an optional
# dependency must import without it), preceded by the local distributions it
# depends on (never fetched from an index), and the package whose every module
# must then import. Core keeps Qt and pytest: WidgetNode's module is Qt by nature, and
# pyacq.testing.fixtures is a pytest plugin.
DISTRIBUTION_PACKAGES = {
    "pyacq-core": (["./pyacq-core[qt,testing]"], "pyacq"),
    "pyacq-devices": (["./pyacq-core", "./pyacq-devices"], "pyacq.devices"),
    "pyacq-dsp": (["./pyacq-core", "./pyacq-dsp"], "pyacq.dsp"),
    "pyacq-viewers": (["./pyacq-core", "./pyacq-dsp", "./pyacq-viewers"], "pyacq.viewers"),
}

IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if not module.name.endswith(".__main__"):
        importlib.import_module(module.name)
print("imported", sys.argv[1], "and its modules")
"""


def declared_minimums(pyprojects=PYPROJECTS):
    """``{name: version}``: the ``>=`` bound of every third-party requirement of *pyprojects*.

    Dependencies and every extra count; a name bounded in several places gets
    the highest bound (the lowest version all of them accept). The pyacq
    distributions themselves are installed from the checkout, so they are left out.
    """
    local = {tomllib.loads(Path(p, "pyproject.toml").read_text())["project"]["name"] for p in pyprojects}
    minimums = {}
    for directory in pyprojects:
        project = tomllib.loads(Path(directory, "pyproject.toml").read_text())["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
            bound = re.search(r">=\s*([^,;\s]+)", requirement)
            if name in local or bound is None:
                continue
            key = re.sub(r"[-_.]+", "-", name).lower()
            version = bound.group(1)
            if key not in minimums or _version_key(version) > _version_key(minimums[key]):
                minimums[key] = version
    return minimums


def _version_key(version):
    return tuple(int(part) for part in re.findall(r"\d+", version))


def install_everything(session):
    session.install(CORE, *PLUGINS, EXAMPLE_PLUGIN)


@nox.session
def lint(session):
    """ruff over the whole tree; no import cycle among the pyacq modules (tools/check_import_cycles.py);
    mypy over pyacq-core (settings in pyproject.toml), with the core's dependencies installed so
    that numpy's and pyzmq's own types are checked against."""
    session.install("ruff==0.17.6", "mypy==2.4.1", CORE)
    session.run("ruff", "check", ".")
    session.run("python", "tools/check_import_cycles.py")
    session.run("mypy")


@nox.session
@nox.parametrize("distribution", list(DISTRIBUTION_PACKAGES))
def imports(session, distribution):
    """One distribution alone in a venv: every module imports with its declared dependencies."""
    requirements, package = DISTRIBUTION_PACKAGES[distribution]
    session.install(*requirements)
    session.run("python", "-c", IMPORT_EVERY_MODULE, package)


@nox.session
def docs(session):
    """The documentation site (docs/_build/html), with every Sphinx and numpydoc warning an
    error; the examples gallery runs each example offscreen, its sound from a private
    PulseAudio daemon and its camera from ffmpeg's test source. Arguments go to sphinx-build."""
    install_everything(session)
    session.install(*DOCS_REQUIREMENTS)
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", *session.posargs,
                "docs", "docs/_build/html", env={"QT_QPA_PLATFORM": "offscreen"})


@nox.session
def tests(session):
    """The four distributions and the example plugin in one venv; pytest over tests/."""
    install_everything(session)
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "tests", *session.posargs,
                env={"QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"})


@nox.session
def tests_minimum(session):
    """The declared minimum version of every dependency; pytest over tests/core.

    A constraints file pins each ``>=`` bound of the pyprojects, so a bound
    that is too low for the code fails here instead of on a user's machine.
    """
    constraints = Path(session.create_tmp()) / "minimum-constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n"
                                   for name, version in sorted(declared_minimums().items())))
    session.install("-c", str(constraints), *MINIMUM_INSTALL, *TEST_REQUIREMENTS)
    session.run("pip", "list", silent=False)
    session.run("pytest", "tests/core", *session.posargs,
                env={"QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"})


@nox.session
def fuzz(session):
    """The property-based targets of tests/fuzz for long (not in CI): a million examples
    each by default; arguments go to pytest (e.g. ``-k rpc_server``)."""
    install_everything(session)
    session.install(*TEST_REQUIREMENTS)
    session.run("pytest", "tests/fuzz", "--hypothesis-profile", "fuzz", "--timeout", "0",
                "--hypothesis-show-statistics", *session.posargs,
                env={"QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"})


@nox.session
def demo(session):
    """The demo pipeline of the README."""
    install_everything(session)
    session.run("pyacq", "demo", *session.posargs)


@nox.session
def bench(session):
    """Every benchmark under benchmarks/, each printing its table."""
    install_everything(session)
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script))


@nox.session
def soak(session):
    """benchmarks/soak.py (not in CI): 30 minutes by default; arguments go to it
    (e.g. ``-- --minutes 120``). Fails if a sample is lost or memory, fds or an
    object table grows."""
    install_everything(session)
    session.run("python", "benchmarks/soak.py", *session.posargs)
