#!/usr/bin/env bash
# pyacq developer entry point: installs what is needed, then runs a nox session.
#   ./dev.sh demo    run the demo
#   ./dev.sh test    lint (ruff, import cycles, mypy) + per-distribution import checks + the
#                    documentation build (warnings are errors) + the whole test suite, then
#                    tests/core again with the declared minimum version of every dependency
#   ./dev.sh docs    the documentation alone (docs/_build/html)
#   ./dev.sh bench   the benchmarks
# Extra arguments go to the session (e.g. ./dev.sh test -k registry: to pytest).
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages: Python venv support; the libraries the Qt wheels need to
# render offscreen; PortAudio (to build PyAudio) and PulseAudio with ALSA's
# pulse plugin (the audio tests' sound server); an OpenCL runtime on the CPU.
APT_PACKAGES=(python3-venv libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
              libdbus-1-3 libglib2.0-0 portaudio19-dev pulseaudio libasound2-plugins
              pocl-opencl-icd ocl-icd-libopencl1)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "pyacq needs these Debian packages; install them and run again:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

PYTHON=${PYTHON:-python3}
TOOLS=.venv-tools
if [[ ! -x $TOOLS/bin/nox ]]; then
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q --upgrade pip
    "$TOOLS/bin/pip" install -q "nox>=2024.4"
fi

command=${1:-}
shift || true
case "$command" in
    demo)  exec "$TOOLS/bin/nox" -s demo -- "$@" ;;
    test)  "$TOOLS/bin/nox" -s lint imports docs
           exec "$TOOLS/bin/nox" -s tests tests_minimum -- "$@" ;;
    docs)  exec "$TOOLS/bin/nox" -s docs -- "$@" ;;
    bench) exec "$TOOLS/bin/nox" -s bench -- "$@" ;;
    *)     echo "usage: ./dev.sh demo|test|docs|bench [session arguments]" >&2; exit 2 ;;
esac
