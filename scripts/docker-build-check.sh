#!/usr/bin/env bash
# Runs the Dockerfile's build without Docker, in a temporary directory, and starts `ado-sync --help` from the result.
#
# It reads the Dockerfile itself: the `build` stage's COPY and RUN steps are replayed in <tmp>/build (from a copy of
# the build context: git's tracked and untracked-but-not-ignored files), the `runtime` stage's COPY steps assemble
# <tmp>/runtime (from the build directory for `--from=build`, from the context otherwise). The runtime stage's
# apt-get step is not replayed: the host's jq stands in for Debian's. `npm ci` runs with --prefer-offline.
#
# Usage: scripts/docker-build-check.sh [--keep]     (--keep leaves the temporary directory for inspection)
# Env:   DOCKER_BUILD_CHECK_NPM="npx -y npm@10.8.2"  replays the RUN steps with that npm instead of the host's.
# Exit status: 0 when --help printed the usage from the runtime directory, non-zero otherwise.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
keep=false
[ "${1:-}" = "--keep" ] && keep=true

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ado-docker-build.XXXXXX")"
cleanup() { if $keep; then echo "docker-build-check: kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
ctx="$tmp/context" build="$tmp/build" runtime="$tmp/runtime"
mkdir -p "$ctx" "$build" "$runtime"

step() { echo "docker-build-check: $*" >&2; }

step "context: copying the repository's files"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$repo" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$ctx"

# Dockerfile -> "stage<TAB>INSTRUCTION<TAB>arguments", continuation lines joined, comments dropped.
parse() {
  awk '
    /^[[:space:]]*#/ { next }
    { line = line $0 }
    /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
    {
      gsub(/[[:space:]]+/, " ", line); sub(/^ /, "", line)
      if (line == "") { next }
      split(line, w, " "); ins = toupper(w[1]); rest = substr(line, length(w[1]) + 2)
      if (ins == "FROM") { n = split(line, f, " "); stage = (n >= 4 && toupper(f[3]) == "AS") ? f[4] : "stage" ++k }
      else if (stage != "") { print stage "\t" ins "\t" rest }
      line = ""
    }' "$ctx/Dockerfile"
}

# COPY [--from=build] src... dest  (relative to WORKDIR /app, which is the stage directory here)
copy() {
  local stage_dir="$1" args="$2" from="$ctx" a
  local -a parts=()
  for a in $args; do
    case "$a" in
      --from=build) from="$build" ;;
      --from=*) echo "unsupported $a" >&2; exit 1 ;;
      --*) ;;
      *) parts+=("$a") ;;
    esac
  done
  local dest="${parts[-1]}" i
  unset 'parts[-1]'
  for i in "${parts[@]}"; do
    local src="${i#/app/}"
    [ -e "$from/$src" ] || { step "COPY source missing: $src"; exit 1; }
    if [ "${dest%/}" != "$dest" ] || [ "$dest" = "./" ] || [ "${#parts[@]}" -gt 1 ]; then
      mkdir -p "$stage_dir/$dest"; cp -a "$from/$src" "$stage_dir/$dest/"
    else
      mkdir -p "$(dirname "$stage_dir/$dest")"; cp -a "$from/$src" "$stage_dir/$dest"
    fi
  done
}

export NODE_JQ_SKIP_INSTALL_BINARY=true
while IFS=$'\t' read -r stage ins args; do
  case "$stage:$ins" in
    build:COPY) step "build: COPY $args"; copy "$build" "$args" ;;
    build:RUN)
      cmd="${args//npm ci /npm ci --prefer-offline }"
      # DOCKER_BUILD_CHECK_NPM runs the image's npm instead of the host's, e.g. "npx -y npm@10.8.2" (node:20 ships 10.x).
      [ -n "${DOCKER_BUILD_CHECK_NPM:-}" ] && cmd="$(printf '%s' "$cmd" | sed -E "s#(^|&& )npm #\1${DOCKER_BUILD_CHECK_NPM} #g")"
      step "build: RUN $cmd"
      start=$SECONDS
      if ! (cd "$build" && sh -c "$cmd") > "$tmp/run.log" 2>&1; then
        # npm prints its usage after the reason; show the reason (e.g. a lock file out of step with package.json).
        grep -v '^npm warn' "$tmp/run.log" | grep -m 25 -vE '^npm error ( {2,}|$)|^npm error (aliases|Run "npm help|--)' >&2 || true
        step "build: FAILED: $cmd"
        exit 1
      fi
      tail -n 5 "$tmp/run.log" >&2
      step "build: done in $((SECONDS - start))s" ;;
    runtime:COPY) step "runtime: COPY $args"; copy "$runtime" "$args" ;;
    runtime:RUN) step "runtime: skipped (host provides jq): RUN $args" ;;
    *) ;;
  esac
done < <(parse)

jq_path="${JQ_PATH:-$(command -v jq || true)}"
[ -n "$jq_path" ] || { step "no jq on this machine (the image installs Debian's)"; exit 1; }
step "runtime: node dist/src/cli/main.js --help"
if [ -d "$runtime/node_modules/typescript" ] || [ -d "$runtime/node_modules/jest" ]; then
  step "runtime node_modules still holds dev dependencies"; exit 1
fi
for shipped in dist/test dist/bench test bench; do
  if [ -e "$runtime/$shipped" ]; then step "the runtime holds $shipped: test, simulator and bench code must not ship"; exit 1; fi
done
(cd "$runtime" && env -i PATH="$PATH" HOME="$tmp" NODE_ENV=production JQ_PATH="$jq_path" NODE_JQ_SKIP_INSTALL_BINARY=true \
  node dist/src/cli/main.js --help)
