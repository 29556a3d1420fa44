#!/bin/sh
# Build a wheel of this checkout and install it, with its dependencies, into a new virtual environment.
#
#   deploy/install.sh PREFIX        e.g. deploy/install.sh /opt/rongcuo  ->  /opt/rongcuo/bin/rongcuo
#
# The Dockerfile runs exactly this, and tests/deploy/test_install_script.py runs it into a fresh
# directory and starts the result, so what the image contains is what CI has exercised.
# PYTHON picks the interpreter (default python3); pip's usual PIP_* variables apply.
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$1
python=${PYTHON:-python3}
source_dir=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build from a copy of what ships: the build leaves build/ and *.egg-info behind, which must not
# land in a checkout others work in, and nothing outside these paths can sneak into the wheel.
mkdir "$work/src"
cp -R "$source_dir/pyproject.toml" "$source_dir/README.md" \
    "$source_dir/bot" "$source_dir/dialogs" "$source_dir/storage" "$work/src/"
find "$work/src" -name __pycache__ -type d -prune -exec rm -rf {} +

"$python" -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$prefix/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
    --wheel-dir "$work/wheels" "$work/src"
# A wheel, not an editable install: the environment must work once the checkout is gone.
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check "$work"/wheels/rongcuo-*.whl
"$prefix/bin/rongcuo" --help >/dev/null
echo "installed $("$prefix/bin/python" -m pip show rongcuo | sed -n 's/^Version: //p') into $prefix"
