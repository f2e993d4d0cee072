#!/bin/sh
# Preflight of `deno task test`, then runs the command given as arguments (the test runner).
#
# The tests need Chromium (the page's test), a Vulkan driver (Mesa's lavapipe on a machine
# without a GPU: Mesa's GL fallback makes the suite take about 9 minutes instead of 4) and a
# sans-serif font (chart PNGs). Missing packages are installed with apt-get when this runs as
# root or with passwordless sudo; otherwise it stops with the one command to run.
# Needs no network or privileges when everything is present.
set -eu

missing=""
# the browser test's Chromium (WEBGPU_MNIST_CHROMIUM overrides /usr/bin/chromium)
[ -x "${WEBGPU_MNIST_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
if [ "$(uname -s)" = Linux ]; then
  # any Vulkan driver (a GPU's, or lavapipe from mesa-vulkan-drivers)
  icd=""
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
    if [ -e "$f" ]; then icd="$f"; fi
  done
  [ -n "$icd" ] || missing="$missing mesa-vulkan-drivers"
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$missing fonts-dejavu-core"
fi

if [ -n "$missing" ]; then
  install="apt-get install -y --no-install-recommends$missing"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need$missing (Debian package names); install them, then run the tests again" >&2
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "the tests need$missing; install with: sudo $install" >&2
    exit 1
  fi
  echo "installing what the tests need:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo $install -qq >/dev/null; }; then
    echo "could not install$missing; run: sudo apt-get update && sudo $install" >&2
    exit 1
  fi
fi

# Mesa and Chromium want a runtime folder; a fresh container or CI runner has none
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

# Vulkan only (the driver checked above): unless told, Deno's WebGPU also starts Mesa's GL driver
# (EGL), and then a test file's pool thread that ends while the process exits can make glibc abort
# it after every test passed ("double free or corruption", exit 134; README, "The GPU off Deno's
# main thread").
# Eight small GPU test files: 11 aborts in 100 runs with both drivers, 0 in 200 with Vulkan alone.
if [ "$(uname -s)" = Linux ]; then
  export DENO_WEBGPU_BACKEND="${DENO_WEBGPU_BACKEND:-vulkan}"
fi
[ "$#" -eq 0 ] || exec "$@"
