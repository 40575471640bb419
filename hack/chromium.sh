#!/usr/bin/env bash
# hack/chromium.sh — install Debian's chromium with apt-get when
# /usr/bin/chromium is missing (the HTML report's browser test and
# `make docs-screenshot` drive it headless through chromedp).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "chromium: installing Debian's chromium (apt-get)" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
