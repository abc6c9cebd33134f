#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain what to install and exit 1.
# Mesa 3.5 needs Python 3.12+; on 3.11 pip silently installs an older Mesa, so we refuse it.
set -u
ok() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for v in 3.12 3.13 3.14; do candidates+=("python$v"); done
candidates+=(python3 python)
# pyenv installs: the shims on PATH fail unless PYENV_VERSION is set, so call the binaries directly.
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv; do
  [ -n "$root" ] && [ -d "$root/versions" ] || continue
  for d in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do candidates+=("$d/bin/python3"); done
done
for c in "${candidates[@]}"; do
  p=$(command -v "$c" 2>/dev/null) || continue
  if ok "$p"; then echo "$p"; exit 0; fi
done
echo "marketsim needs Python >= 3.12 (Mesa 3.5 requires it) and none was found." >&2
echo "Install one, e.g. 'apt-get install python3.12 python3.12-venv', 'pyenv install 3.12'," >&2
echo "or 'uv python install 3.12', then re-run; or point PYTHON=/path/to/python3.12 at it." >&2
exit 1
