#!/usr/bin/env bash
# Installs every Debian 12 package Reread needs to build, test and benchmark.
# Idempotent: packages already present are skipped, so a second run does nothing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git curl python3
  # slide access, codecs
  libopenslide-dev libturbojpeg0-dev libjpeg62-turbo-dev libtiff-dev libpng-dev libcairo2-dev fonts-dejavu-core
  # command line, logging, JSON
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  # HTTP server; the case record (SQLite), API tokens (libsodium), annotation XML (pugixml)
  libboost-dev libssl-dev libsqlite3-dev libsodium-dev libpugixml-dev
  # viewer: GLFW, Dear ImGui, OpenGL through libepoxy; its tests render headless under Xvfb (Mesa llvmpipe)
  libglfw3-dev libimgui-dev libstb-dev libepoxy-dev libgl1-mesa-dri xvfb xauth
  # tests and benchmarks (sqlite3: integrity checks from the shell; poppler-utils: the report PDF read back)
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 poppler-utils
  python3-openslide python3-numpy python3-pil openslide-tools libvips-tools time bc
  # browser compatibility test (OpenSeadragon in headless Chromium; Node.js comes with the machine)
  chromium
  # tile-server benchmark (bench/server_bench.sh): load generator and the peers it measures against
  wrk nginx-light iipimage-server spawn-fcgi
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
