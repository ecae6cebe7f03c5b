#!/usr/bin/env bash
# Mutation testing of marketplaces/ (retry policy, health rules, exports, the
# clients' error classification: the mutants listed in
# tests/mutation/mutants.txt) with the pure tier. Not part of CI: run it
# by hand after changing marketplaces/ or its tests.
#
#   scripts/mutation.sh            # every mutant of tests/mutation/mutants.txt
#   scripts/mutation.sh policy.py  # only these modules (faster)
#
# It copies marketplaces/ and what the pure tier reads into a scratch directory
# (the work tree is never touched), runs mutmut there with
# tests/mutation/setup.cfg, prints the score of each file and of the whole,
# and exits non-zero when policy.py, health.py or exports.py kill less than
# 90 % of their mutants or all the mutants run less than 80 %. It also fails,
# rather than report a score of nothing, when mutmut fails (run or results),
# when no mutant ran, when a named module or a pattern of mutants.txt ran no
# mutant (a renamed function), or when mutmut left selected mutants unchecked.
# Survivors judged equivalent: tests/mutation/equivalent-mutants.rst.
#
# Environment: MUTATION_VENV (default ~/.cache/stock_ecommerce_writeback-mutation,
# created with tests/mutation/requirements.txt), PYTHON (to create it;
# default the Odoo virtualenv's python or python3), MUTATION_JOBS (default 2),
# KEEP=1 to keep the scratch directory (browse it with `mutmut browse`).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_VENV=${ODOO_VENV:-/opt/odoo19-venv}
if [ -x "$ODOO_VENV/bin/python" ]; then PY=${PYTHON:-$ODOO_VENV/bin/python}; else PY=${PYTHON:-python3}; fi
VENV=${MUTATION_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/stock_ecommerce_writeback-mutation}
JOBS=${MUTATION_JOBS:-2}

if [ ! -x "$VENV/bin/mutmut" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$REPO/tests/mutation/requirements.txt"
fi

WORK=$(mktemp -d /tmp/stock_ecommerce_writeback-mutation.XXXXXX)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; else echo "scratch directory: $WORK"; fi
# (the pure tier also reads models/, demo/ and tests/common.py)
cp -a "$REPO/marketplaces" "$REPO/sandbox" "$REPO/models" "$REPO/demo" "$REPO/tests" "$WORK/"
cp "$REPO/tests/mutation/setup.cfg" "$WORK/setup.cfg"
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
cd "$WORK"
# Sanity: the pure tier passes on the unmutated copy.
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/pure >"$WORK/pure.log" 2>&1 || {
    tail -30 "$WORK/pure.log"; echo "FAILED: the pure tier fails without any mutant"; exit 1; }
mapfile -t PATTERNS < <(grep -v -e '^#' -e '^[[:space:]]*$' "$REPO/tests/mutation/mutants.txt" || true)
[ ${#PATTERNS[@]} -gt 0 ] || {
    # (mutmut run without a pattern would mutate the whole of marketplaces/)
    echo "FAILED: no mutant pattern in tests/mutation/mutants.txt"; exit 2; }
if [ $# -gt 0 ]; then  # only the named modules
    missing=()
    for name in "$@"; do
        module=$(basename "$name" .py)
        printf '%s\n' "${PATTERNS[@]}" | grep -qF "marketplaces.$module." || missing+=("$name")
    done
    [ ${#missing[@]} -eq 0 ] || {
        echo "FAILED: no mutant pattern in tests/mutation/mutants.txt for: ${missing[*]}"; exit 2; }
    modules=$(for name in "$@"; do basename "$name" .py; done | paste -sd'|')
    mapfile -t PATTERNS < <(printf '%s\n' "${PATTERNS[@]}" | grep -E "^marketplaces\.($modules)\.")
fi
printf '%s\n' "${PATTERNS[@]}" >"$WORK/patterns.txt"
nice -n 10 "$VENV/bin/mutmut" run --max-children "$JOBS" "${PATTERNS[@]}" >"$WORK/mutmut.log" 2>&1 || {
    tail -30 "$WORK/mutmut.log"; echo "FAILED: mutmut run"; exit 1; }
"$VENV/bin/mutmut" results --all true >"$WORK/results.txt" 2>"$WORK/results.err" || {
    tail -30 "$WORK/results.err"; echo "FAILED: mutmut results"; exit 1; }

"$VENV/bin/python" - "$WORK/results.txt" "$WORK/patterns.txt" "$@" <<'PY'
import collections, fnmatch, os, re, sys

results, patterns_file, named = sys.argv[1], sys.argv[2], sys.argv[3:]
patterns = [line.strip() for line in open(patterns_file, encoding="utf-8") if line.strip()]
# mutmut names a mutant marketplaces.<module>.x_<function>__mutmut_<n>
# ("xǁClassǁmethod" for methods); the line ends with its status.
per_file = collections.defaultdict(collections.Counter)
per_pattern = collections.Counter()
survivors, unchecked, unread = [], [], []
for line in open(results, encoding="utf-8"):
    m = re.match(r"\s*(marketplaces\.(\w+)\.\S+):\s+(\S.*)$", line)
    if not m:
        if line.strip():
            unread.append(line.rstrip())
        continue
    name, module, status = m.group(1), m.group(2), m.group(3).strip()
    # mutmut runs the mutants its patterns match (fnmatch), no other
    matched = [p for p in patterns if name == p or fnmatch.fnmatch(name, p)]
    if not matched:  # outside tests/mutation/mutants.txt (or the named modules)
        continue
    if status == "not checked":  # selected, yet mutmut never ran it
        unchecked.append(name)
        continue
    per_pattern.update(matched)
    per_file[module + ".py"][status] += 1
    if status == "survived":
        survivors.append(name)

KILLED = ("killed", "timeout", "segfault")  # anything else is not killed
TARGET = {"policy.py": 90, "health.py": 90, "exports.py": 90}
errors = []
ok = True
total = collections.Counter()
if per_file:
    print(f"{'file':24} {'mutants':>8} {'killed':>7} {'survived':>9} {'score':>7}")
for module in sorted(per_file):
    counts = per_file[module]
    total.update(counts)
    n = sum(counts.values())
    dead = sum(counts[k] for k in KILLED)
    score = 100 * dead / n
    flag = ""
    if module in TARGET and score < TARGET[module]:
        ok, flag = False, f"  < {TARGET[module]} %"
    print(f"{module:24} {n:8} {dead:7} {counts['survived']:9} {score:6.1f}%{flag}")
n = sum(total.values())
dead = sum(total[k] for k in KILLED)
if n:
    score = 100 * dead / n
    flag = "" if score >= 80 or named else "  < 80 %"
    if flag:
        ok = False
    print(f"{'all mutants run':24} {n:8} {dead:7} {total['survived']:9} {score:6.1f}%{flag}")
    print("(killed = killed, timed out or crashed; 'no tests', 'suspicious'... are not)")
if survivors:
    print("\nsurvivors:\n  " + "\n  ".join(survivors))

# A score is only worth the mutants behind it: no mutant, no score.
if not n:
    errors.append("no mutant ran, so there is no score (mutmut results listed none "
                  "of the selected mutants as checked)")
    if unread:
        errors.append("unread lines of `mutmut results`:\n    " + "\n    ".join(unread[:5]))
expected = named or list(TARGET)  # a full run must include the targets
for module in expected:
    module = os.path.basename(module).removesuffix(".py") + ".py"
    if n and not per_file.get(module):
        errors.append(f"no mutant of {module} ran")
for pattern in patterns:
    if not per_pattern[pattern]:
        errors.append(f"pattern {pattern} (tests/mutation/mutants.txt) ran no mutant: "
                      "renamed or removed function? correct the pattern")
if unchecked:
    errors.append(f"{len(unchecked)} selected mutants were never checked (mutmut "
                  "stopped early?), e.g. " + ", ".join(unchecked[:3]))
for error in errors:
    print(f"FAILED: {error}")
sys.exit(0 if ok and not errors else 1)
PY
