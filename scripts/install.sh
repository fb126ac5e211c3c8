#!/usr/bin/env bash
# One-step install for developers and CI: system packages the tests use, then the npm packages.
# Works offline except for the npm registry and Debian's package mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium dcmtk dicom3tools fonts-dejavu-core orthanc orthanc-dicomweb)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Browsers come from Debian; Electron's binary is fetched only by `npm start` on a machine with internet.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1
npm ci --no-fund --no-audit
