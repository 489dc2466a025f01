"""Where a table came from: the git commit of the checkout that built it."""
from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(repo: str | Path = ".") -> str:
    """Short commit hash, with ``-dirty`` if tracked files differ from it; 'unknown' outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown (not a git checkout)"
    return commit + ("-dirty" if dirty else "")
