#!/usr/bin/env bash
# Install Debian's chromium when /usr/bin/chromium is missing (the browser tests drive it through Playwright).
set -u
[ -x /usr/bin/chromium ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
echo "installing Debian chromium for the browser tests"
as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
  || { echo "could not install chromium: the browser tests will be skipped" >&2; exit 0; }
