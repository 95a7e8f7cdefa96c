#!/usr/bin/env bash
# The regression net: regenerate the outputs of every example (scripts, sims with traces, explores,
# replays, compare) and compare them with the stored copy in test/golden/outputs/.
#
#   scripts/check-outputs.sh            # regenerate into a temporary folder and compare (exit 1 on a change)
#   scripts/check-outputs.sh --update   # rewrite the stored copy (do this only for an explained change)
#   scripts/check-outputs.sh --quick    # skip examples/sim/host-1tib.yaml (3 minutes alone); never with --update
#   scripts/check-outputs.sh --add-new  # store the outputs of new examples (absent from the stored copy);
#                                       # any other difference still fails and stores nothing
#   KVMSIM_KEEP=DIR scripts/check-outputs.sh ...   # on a change, also copy the new outputs to DIR
#
# Outputs larger than 200 KiB are stored as their SHA-256 (file.sha256), the rest as text. Wall-clock
# figures (explore's time and states/s, JSON "millis") are masked, since they are not model outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
golden=test/golden/outputs
update=0
quick=0
addnew=0
for a in "$@"; do
  case "$a" in
    --update) update=1 ;;
    --quick) quick=1 ;;
    --add-new) addnew=1 ;;
    *) echo "check-outputs.sh: unknown argument $a (allowed: --update, --quick, --add-new)" >&2; exit 2 ;;
  esac
done
if (( update && quick )); then echo "check-outputs.sh: --update needs the full set (no --quick)" >&2; exit 2; fi
out=$(mktemp -d)
trap 'rm -rf "$out" "$out.ref" "$out.diff"' EXIT
export KVMSIM_OUT="$out"

kvmsim() { node bin/kvmsim.js "$@"; }
export -f kvmsim

# One job per line: NAME<TAB>COMMAND. Each job writes $KVMSIM_OUT/NAME.* files.
jobs() {
  for f in $(find examples -name '*.yaml' | sort); do
    n=$(echo "${f#examples/}" | sed 's#/#__#g; s#\.yaml$##')
    kind=$(grep -m1 -E '^kind:' "$f" | awk '{print $2}')
    arch=$(grep -m1 -E '^arch:' "$f" | awk '{print $2}' || true)
    case "$kind" in
      script)
        printf '%s\t%s\n' "$n.script" "kvmsim script $f"
        printf '%s\t%s\n' "$n.script-json" "kvmsim script $f --json"
        if [[ "$arch" != s390 ]]; then
          printf '%s\t%s\n' "$n.script-events" "kvmsim script $f --trace-events --ftrace \$KVMSIM_OUT/$n.ftrace.txt"
        fi ;;
      sim)
        if [[ "$n" == sim__host-1tib ]]; then
          # 3 minutes a run, and 17 GB of traces: its metrics only, once.
          (( quick )) || printf '%s\t%s\n' "$n.run-json" "kvmsim run $f --json"
          continue
        fi
        printf '%s\t%s\n' "$n.run" "kvmsim run $f"
        printf '%s\t%s\n' "$n.run-seed7-json" "kvmsim run $f --seed 7 --json"
        if [[ "$arch" != s390 ]]; then
          printf '%s\t%s\n' "$n.run-traced" "kvmsim run $f --json --trace \$KVMSIM_OUT/$n.chrome.json --ftrace \$KVMSIM_OUT/$n.ftrace.txt"
        fi ;;
      explore)
        printf '%s\t%s\n' "$n.explore" "kvmsim explore $f --save \$KVMSIM_OUT/$n.cx.json"
        printf '%s\t%s\n' "$n.explore-json" "kvmsim explore $f --json"
        printf '%s\t%s\n' "$n.explore-dfs-json" "kvmsim explore $f --dfs --json"
        if [[ "$arch" != s390 ]]; then
          printf '%s\t%s\n' "$n.explore-nored-json" "kvmsim explore $f --no-por --no-symmetry --json"
        fi ;;
    esac
  done
  printf '%s\t%s\n' "compare-calibration" "kvmsim compare examples/sim/calibration.yaml --seeds 2 --json"
  printf '%s\t%s\n' "compare-web" "kvmsim compare examples/sim/web-overcommit.yaml --apf off,interrupt --seeds 2"
}

runjob() {
  local name=$1 cmd=$2 rc=0 t0=$SECONDS
  eval "$cmd" >"$KVMSIM_OUT/$name.out" 2>"$KVMSIM_OUT/$name.err" || rc=$?
  echo "exit $rc" >>"$KVMSIM_OUT/$name.out"
  [[ -n "${KVMSIM_TIMES:-}" ]] && echo "$((SECONDS - t0)) s $name" >>"$KVMSIM_TIMES"
  # A saved counterexample is replayed, with traces.
  if [[ -f "$KVMSIM_OUT/${name%.explore}.cx.json" && "$name" == *.explore ]]; then
    local b=${name%.explore}
    rc=0
    if grep -q '"arch": "s390"' "$KVMSIM_OUT/$b.cx.json"; then
      # --trace/--ftrace write x86 actors and tracepoints; an s390 replay prints its steps only.
      kvmsim replay "$KVMSIM_OUT/$b.cx.json" >"$KVMSIM_OUT/$b.replay.out" 2>&1 || rc=$?
    else
      kvmsim replay "$KVMSIM_OUT/$b.cx.json" --trace "$KVMSIM_OUT/$b.replay.chrome.json" \
        --ftrace "$KVMSIM_OUT/$b.replay.ftrace.txt" >"$KVMSIM_OUT/$b.replay.out" 2>&1 || rc=$?
    fi
    echo "exit $rc" >>"$KVMSIM_OUT/$b.replay.out"
  fi
}
export -f runjob

jobs | while IFS=$'\t' read -r name cmd; do printf '%s\0%s\0' "$name" "$cmd"; done |
  xargs -0 -n2 -P "$(nproc)" bash -c 'runjob "$0" "$1"'

# Mask wall-clock figures; store big files as hashes.
for f in "$out"/*; do
  case "$f" in
    *.out|*.err)
      sed -i -E 's/"(millis|safetyMillis|livenessMillis|wallMillis|wall_s|elapsed_s)":[0-9.e+-]+/"\1":0/g;
        s/[0-9.]+ (s|ms), [0-9.]+ states\/s/T s, R states\/s/g;
        s/([0-9]+ protocol edges), [0-9.]+ (s|ms)/\1, T s/g' "$f" ;;
  esac
  [[ -s "$f" ]] || { rm -f "$f"; continue; }
  if (( $(stat -c %s "$f") > 204800 )); then
    sha256sum "$f" | awk '{print $1}' >"$f.sha256"
    rm "$f"
  fi
done
# Paths of the temporary folder inside outputs (a saved counterexample names its scenario, not itself).
{ grep -rl "$out" "$out" 2>/dev/null || true; } | xargs -r sed -i "s#$out#OUT#g"

if (( update )); then
  rm -rf "$golden"; mkdir -p "$golden"; cp "$out"/* "$golden"/
  echo "stored $(ls "$golden" | wc -l) outputs in $golden"
  exit 0
fi
ref=$golden
if (( quick )); then
  ref=$out.ref
  cp -r "$golden" "$ref"
  rm -f "$ref"/sim__host-1tib.*
fi
if (( addnew && ! quick )); then
  ref=$out.ref
  cp -r "$golden" "$ref"
fi
if (( addnew )); then
  # Outputs of examples the stored copy does not know yet: stored only if nothing else differs.
  new=()
  for f in "$out"/*; do
    b=$(basename "$f")
    [[ -e "$ref/$b" ]] || new+=("$b")
  done
  for b in "${new[@]}"; do cp "$out/$b" "$ref/$b"; done
  if diff -r "$ref" "$out" >"$out.diff" 2>&1; then
    for b in "${new[@]}"; do cp "$out/$b" "$golden/$b"; done
    echo "outputs: $(( $(ls "$ref" | wc -l) - ${#new[@]} )) unchanged, ${#new[@]} new stored"
    rm -rf "$out.diff" "$out.ref"
    exit 0
  fi
fi
if diff -r "$ref" "$out" >"$out.diff" 2>&1; then
  echo "outputs: all $(ls "$ref" | wc -l) unchanged"
  rm -rf "$out.diff" "$out.ref"
else
  head -c 20000 "$out.diff"
  echo "outputs changed, new or missing:"
  diff -rq "$ref" "$out" | sed -E "s#^Files $ref/([^ ]+) and .*#  changed \1#; s#^Only in $ref: #  missing #; s#^Only in $out: #  new #"
  if [[ -n "${KVMSIM_KEEP:-}" ]]; then mkdir -p "$KVMSIM_KEEP" && cp "$out"/* "$KVMSIM_KEEP"/ && echo "outputs kept in $KVMSIM_KEEP"; fi
  echo "outputs: CHANGED (full diff above, first 20 kB)" >&2
  rm -rf "$out.diff" "$out.ref"
  exit 1
fi
