#!/usr/bin/env python3
"""Report the cyclomatic complexity and maintainability index of the app's Python code (radon).

    .venv/bin/python scripts/complexity.py [--max N] [--modules K] [PATH ...]

Walks `src/halo_paylink` (or the given files and folders), prints every function and method whose
cyclomatic complexity is above N (default 20), worst first, then the maintainability index of
the K least maintainable modules (default 5). Exits 1 when any function is above N, 0 otherwise.
Radon comes with the project's test extra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (ROOT / "src" / "halo_paylink",)
DEFAULT_MAX = 20
DEFAULT_MODULES = 5


@dataclass(frozen=True)
class Complex:
    """One function or method and its cyclomatic complexity."""

    path: Path
    line: int
    name: str
    complexity: int


@dataclass(frozen=True)
class Maintainability:
    """One module and its maintainability index (0 to 100, higher is easier to maintain)."""

    path: Path
    index: float
    rank: str


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every `.py` file in `paths` (files as given, folders walked), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if p.is_file())
        else:
            yield path


def functions(path: Path, source: str) -> list[Complex]:
    """Every function, method and nested function in one module, with its complexity."""
    from radon.complexity import add_inner_blocks, cc_visit
    from radon.visitors import Function

    blocks = add_inner_blocks(cc_visit(source))
    return [
        Complex(path, block.lineno, block.fullname, block.complexity)
        for block in blocks
        if isinstance(block, Function)
    ]


def maintainability(path: Path, source: str) -> Maintainability:
    """The module's maintainability index, as `radon mi` computes it (docstrings as comments)."""
    from radon.metrics import mi_rank, mi_visit

    index = mi_visit(source, multi=True)
    return Maintainability(path, index, mi_rank(index))


def shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def report(paths: Iterable[Path], limit: int, modules: int) -> int:
    """Print the report; the exit status (1 when a function is above `limit`)."""
    above: list[Complex] = []
    indexes: list[Maintainability] = []
    for path in python_files(paths):
        source = path.read_text(encoding="utf-8")
        above.extend(f for f in functions(path, source) if f.complexity > limit)
        indexes.append(maintainability(path, source))
    above.sort(key=lambda f: (-f.complexity, shown(f.path), f.line))
    if above:
        print(f"Functions above cyclomatic complexity {limit}: {len(above)}")
        for f in above:
            print(f"  {f.complexity:3d}  {shown(f.path)}:{f.line}  {f.name}")
    else:
        print(f"No function above cyclomatic complexity {limit}.")
    worst = sorted(indexes, key=lambda m: (m.index, shown(m.path)))[:modules]
    if worst:
        print(f"Least maintainable modules (maintainability index, the worst {len(worst)}):")
        for m in worst:
            print(f"  {m.index:6.2f} {m.rank}  {shown(m.path)}")
    return 1 if above else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max",
        type=int,
        default=DEFAULT_MAX,
        metavar="N",
        help=f"the highest cyclomatic complexity allowed (default {DEFAULT_MAX})",
    )
    parser.add_argument(
        "--modules",
        type=int,
        default=DEFAULT_MODULES,
        metavar="K",
        help=f"how many of the least maintainable modules to show (default {DEFAULT_MODULES})",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders to check (default src/halo_paylink)",
    )
    args = parser.parse_args(argv)
    try:
        import radon  # noqa: F401
    except ImportError:
        print("radon is not installed: pip install 'radon>=6' (or the test extra)", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    return report(args.paths or DEFAULT_PATHS, args.max, args.modules)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
