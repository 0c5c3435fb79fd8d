"""Print the kill rate per module from `mutmut results --all true`, and the surviving mutants
that MUTATION.md does not explain.

Used by `make mutate`:  mutmut results --all true | python -m tests.mutation_report
Exits 1 when a module is under the goal or a survivor is unexplained.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

GOAL = 0.90
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
EXPLAINED = Path(__file__).resolve().parent.parent / "MUTATION.md"
LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")


def module_of(name: str) -> str:
    """Return the module a mutant belongs to (its name up to the mutated function)."""
    head = name.split("__mutmut_")[0]
    parts = head.split(".")
    # Functions are named x_<function>, methods xǁ<Class>ǁ<method>: drop that last part.
    return ".".join(parts[:-1]) if len(parts) > 1 else head


def explained() -> set[str]:
    """Return the mutant names MUTATION.md lists as equivalent (one per `- name:` line)."""
    if not EXPLAINED.exists():
        return set()
    return set(re.findall(r"^- `?([\w.ǁ]+__mutmut_\d+)`?", EXPLAINED.read_text(), re.M))


def report(lines: list[str]) -> int:
    """Print the table and the unexplained survivors; return the exit status."""
    by_module: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        name, status = match["name"], match["status"]
        module = module_of(name)
        by_module[module]["all"] += 1
        if status in KILLED:
            by_module[module]["killed"] += 1
        else:
            survivors[module].append(f"{name} ({status})")
    if not by_module:
        print("No mutants found: run `mutmut run` first.")
        return 1
    known = explained()
    failing = False
    print(f"{'module':45} {'killed':>7} {'mutants':>8} {'rate':>6}  (goal {GOAL:.0%})")
    for module in sorted(by_module):
        counts = by_module[module]
        rate = counts["killed"] / counts["all"]
        failing |= rate < GOAL
        print(f"{module:45} {counts['killed']:7} {counts['all']:8} {rate:6.1%}")
    for module in sorted(survivors):
        listed = [s for s in survivors[module] if s.split(" ")[0] not in known]
        equivalent = len(survivors[module]) - len(listed)
        print(f"\n{module}: {len(survivors[module])} survived, {equivalent} explained in "
              f"MUTATION.md")
        for line in listed:
            print(f"  unexplained: {line}   (see: mutmut show {line.split(' ')[0]})")
        failing |= bool(listed)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(report(sys.stdin.read().splitlines()))
