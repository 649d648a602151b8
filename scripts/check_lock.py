"""Check that this interpreter's environment holds exactly a lock's distributions, and print its fingerprint.

Usage: ``python scripts/check_lock.py constraints/airflow-3.3.txt``. Exits 1 on any distribution missing, extra
(the editable checkout and pip aside) or at another version. The fingerprint, a SHA-256 of the sorted
``name==version`` lines (``pip freeze --exclude-editable``), is the same on every machine with the same set.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
NOT_LOCKED = {"pip", "airflow-provider-vlocr"}  # pip is pinned by the Makefile; the checkout is installed editable


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    """``name → version`` of every pin in a requirements lock."""
    pins = (PIN.match(line) for line in lock.read_text(encoding="utf-8").splitlines())
    return {canonical(m[1]): m[2] for m in pins if m}


def installed() -> dict[str, str]:
    found = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    return {name: version for name, version in found.items() if name not in NOT_LOCKED}


def main(lock_path: str) -> int:
    lock, have = locked(Path(lock_path)), installed()
    problems = [f"missing {n}=={v}" for n, v in sorted(lock.items()) if n not in have]
    problems += [f"not in the lock: {n}=={v}" for n, v in sorted(have.items()) if n not in lock]
    problems += [f"{n}: {have[n]} installed, {v} locked" for n, v in sorted(lock.items()) if have.get(n, v) != v]
    if problems:
        print(f"{lock_path}: the environment differs from the lock:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    freeze = "".join(f"{n}=={v}\n" for n, v in sorted(have.items()))
    digest = hashlib.sha256(freeze.encode()).hexdigest()[:16]
    print(f"{sys.prefix}: exactly {lock_path}, {len(have)} distributions, set sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
