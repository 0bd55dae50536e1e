#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium, for the headless-browser test of the Web UI
# (test/cli/webui.test.ts, driven by playwright-core, which downloads no browser of its own).
#
#   bash scripts/ensure-chromium.sh        # as root (CI, containers) or with sudo available
#
# Does nothing when /usr/bin/chromium is already there. Otherwise installs the `chromium` package with apt-get
# (Debian or Ubuntu); on other systems it says what to do and exits 1. Without the browser the test is skipped
# with a message, except under CI (CI set), where it fails.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get here; install Chromium so that /usr/bin/chromium exists, or the Web UI test is skipped" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "ensure-chromium: installing chromium needs root: run  sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing Debian's chromium package (for the Web UI test)…" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; refresh them once, quietly, and retry if the first try fails.
if ! $SUDO apt-get install -y --no-install-recommends chromium fonts-liberation >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y --no-install-recommends chromium fonts-liberation >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium: the chromium package installed, but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)" >&2
