"""Run the real `gello` command in subprocesses against an isolated SQLite file."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GELLO = str(Path(sys.executable).with_name("gello"))


@dataclass
class Cli:
    env: dict[str, str]
    ledger: Path
    cwd: Path

    def run(
        self, *args: str, check: bool = True, timeout: float = 60, input: str = ""
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [GELLO, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,  # what a prompt reads: nothing, unless a test answers it
        )
        if check and out.returncode != 0:
            raise AssertionError(f"gello {' '.join(args)} exited {out.returncode}: {out.stderr}")
        return out

    def spawn(self, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        if log is None:
            return self._spawn(args, subprocess.DEVNULL)
        with log.open("wb") as stderr:  # the child keeps its own descriptor
            return self._spawn(args, stderr)

    def _spawn(self, args: tuple[str, ...], stderr: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [GELLO, *args], env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=stderr
        )

    def runs(self, kind: str = "done") -> list[str]:
        if not self.ledger.exists():
            return []
        return [
            line.split()[1]
            for line in self.ledger.read_text().splitlines()
            if line.startswith(kind)
        ]
