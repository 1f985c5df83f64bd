#!/usr/bin/env bash
# Runs every fuzz target for a bounded time each and fails if any crashes.
#
#   fuzz/run.sh                   # every target, 30 s each
#   FUZZ_SECONDS=300 fuzz/run.sh  # longer
#   fuzz/run.sh time_limit begin  # only these targets
#
# Needs only the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc take
# the nightly-only flags that cargo fuzz passes (-Zsanitizer=address,
# -Cpasses=sancov-module, ...). FUZZ_SANITIZER=none builds without
# AddressSanitizer (faster runs; changing it rebuilds everything).
# Corpora grow under fuzz/corpus/<target> (the committed files are the
# seeds); crashes land in fuzz/artifacts/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-address}"
# The machine is shared: build with at most two jobs unless told otherwise.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
fuzz=(cargo fuzz)
opts=(--sanitizer "$sanitizer")

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

"${fuzz[@]}" build "${opts[@]}"

crashes() { find "artifacts/$1" -maxdepth 1 -name 'crash-*' | wc -l; }

failed=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  before="$(crashes "$target")"
  echo "=== $target: ${seconds}s" >&2
  status=0
  "${fuzz[@]}" run "${opts[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 || status=$?
  if [ "$status" -ne 0 ] || [ "$(crashes "$target")" -gt "$before" ]; then
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]}" >&2
  for target in "${failed[@]}"; do
    ls "artifacts/$target"/crash-* 2>/dev/null || true
  done
  echo "reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET artifacts/TARGET/crash-..." >&2
  exit 1
fi
echo "fuzzing found no crash in: ${targets[*]} (${seconds}s each)" >&2
