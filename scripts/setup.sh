#!/usr/bin/env bash
# Installs what catapult-lab needs on Debian or Ubuntu, then says what it did:
#   - libvulkan1, the Vulkan loader the `webgpu` package (Dawn) talks to;
#   - Mesa's lavapipe (mesa-vulkan-drivers), the faster of the two CPU drivers that run WebGPU without a GPU.
#     Dawn needs Mesa 24 or newer: Debian 12 ships 22.3, so there it comes from bookworm-backports (that
#     package and what it depends on only; nothing else is taken from backports); Debian 13 and Ubuntu 24.04
#     ship a new enough one;
#   - Chromium, whose SwiftShader is the other CPU driver and which Playwright drives for the browser tests;
#   - Debian's python3-numpy, python3-pandas and python3-torch, for the tests of the README's Python snippets
#     (runs in pandas, checkpoints in NumPy and PyTorch), and python3-onnx with libonnx-testdata for the ONNX
#     tests (torch.onnx.export needs the onnx module; libonnx-testdata is ONNX's own operator tests with their
#     expected outputs, test/onnx-conformance.test.ts), and python3-skimage, whose public-domain and CC0 photos
#     scripts/make-photos.py crops into the bundled CIFAR-like set (test/photos.test.ts makes it again);
#   - the npm packages of package-lock.json.
# Safe to run again: it installs only what is missing or too old. Needs root or sudo only to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"; }
# Mesa's major version as dpkg knows it (installed, or the candidate apt would install), or 0.
mesa_major() { sed -E 's/^([0-9]+:)?([0-9]+).*/\2/' <<<"${1:-0}"; }
installed_mesa() { dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null | awk '$3 == "installed" { print $4 }'; }
updated=""
apt_update() { [ -n "$updated" ] || { $sudo apt-get update -q; updated=1; }; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || missing+=(libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get"
  apt_update
  apt_install "${missing[@]}"
else
  say "chromium and libvulkan1 are installed"
fi

if /usr/bin/python3 -c 'import numpy, pandas, torch, onnx, skimage' 2>/dev/null; then
  say "python3 has numpy, pandas, torch, onnx and skimage"
else
  say "installing python3-numpy, python3-pandas, python3-torch, python3-onnx and python3-skimage with apt-get (for the Python, ONNX and bundled-photo tests)"
  apt_update
  apt_install python3-numpy python3-pandas python3-torch python3-onnx python3-skimage
fi
if [ -d /usr/share/libonnx-testdata/data/node ]; then
  say "libonnx-testdata is installed"
else
  say "installing libonnx-testdata with apt-get (ONNX's operator tests, for the conformance test)"
  apt_update
  apt_install libonnx-testdata
fi

have=$(installed_mesa)
if [ "$(mesa_major "$have")" -ge 24 ]; then
  say "lavapipe: Mesa $have is installed (Dawn needs 24 or newer)"
else
  . /etc/os-release
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      say "adding Debian's bookworm-backports to apt's sources (/etc/apt/sources.list.d/bookworm-backports.list)"
      echo 'deb http://deb.debian.org/debian bookworm-backports main' | $sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
      updated=""
    fi
    apt_update
    say "installing lavapipe (mesa-vulkan-drivers) from bookworm-backports${have:+, replacing Mesa $have}"
    apt_install -t bookworm-backports mesa-vulkan-drivers
  else
    apt_update
    candidate=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null | awk '/Candidate:/ { print $2 }')
    if [ "$(mesa_major "$candidate")" -ge 24 ]; then
      say "installing lavapipe (mesa-vulkan-drivers $candidate)"
      apt_install mesa-vulkan-drivers
    else
      say "lavapipe: this system's mesa-vulkan-drivers is ${candidate:-not available}, older than the 24 Dawn needs; WebGPU will run on SwiftShader (slower)"
    fi
  fi
  now=$(installed_mesa)
  [ -n "$now" ] && say "lavapipe: Mesa $now is installed"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
else
  say "npm packages are installed"
fi

# What Dawn makes of the drivers now on this machine, and which one `auto` takes.
node bin/catapult.js adapters
