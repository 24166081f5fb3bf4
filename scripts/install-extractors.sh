#!/usr/bin/env bash
# Installs the real extractors the differential test holds the service's listing against
# (test/integration/archive/extractor-differential.test.ts), from Debian's packages:
#   GNU tar (tar), bsdtar (libarchive-tools), 7-Zip (7zip: 7zz), Info-ZIP unzip and zip,
#   pax, and Python 3 (tarfile, zipfile); jar, git and xz for the real-world corpus. yauzl comes with npm ci.
# Idempotent: runs apt-get only when a tool is missing; prints the versions either way.
# Run once on a developer machine (as root or with sudo), and from .ci/run.
#
# The test FAILS, naming the tool, when one is missing. To run it without some extractors
# (leaving them out), set ARCHIVE_EXTRACTORS_OPTIONAL=1 — off by default, and never in CI;
# tar, zip and python3 are needed even then, to make the base archives.
set -euo pipefail

# jar, git and xz make some of the real-world corpus's archives (test/integration/archive/real-world-corpus.test.ts).
declare -A PACKAGE_OF=([tar]=tar [bsdtar]=libarchive-tools [7zz]=7zip [unzip]=unzip [zip]=zip [pax]=pax [python3]=python3 [jar]=openjdk-17-jdk-headless [git]=git [xz]=xz-utils)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  sudo=''
  if [ "$(id -u)" != 0 ]; then sudo='sudo'; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tar --version | sed -n 1p
bsdtar --version
7zz | sed -n 2p
unzip -v | sed -n 1p
zip -v | sed -n 2p
pax --version 2>/dev/null | sed -n 1p || dpkg-query -W -f='pax ${Version}\n' pax
/usr/bin/python3 --version 2>/dev/null || python3 --version
