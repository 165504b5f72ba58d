"""The layers hold: import-linter's contracts (pyproject.toml, [tool.importlinter]) all pass, so
`make test` refuses an import that goes up a layer or closes a cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = (
    "models is the domain: it imports nothing of ours",
    "events imports models only",
    "nothing imports the entrypoints",
    "only the entrypoints import the composition root",
    "each layer imports only the layers below it",
    "no import cycles between the modules of a package",
)


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in CONTRACTS:
        assert f"{contract} KEPT" in result.stdout
