#!/usr/bin/env bash
# The layer check. The arrows live in tools/layers.txt; the build gives each layer library only the
# include directories it may use (cmake/CraftLayers.cmake), so a plain include of a forbidden layer
# does not compile. This script checks what the compiler and the linker recorded, which no
# spelling of an include can fool:
#   1. every header each layer object really included (Ninja's record of the compiler's
#      dependency output) lies in an allowed layer, or is a public header whose owner is allowed,
#      or is a system header — "../", "#/**/include", ".inc" files and friends all show up here;
#   2. every symbol a layer library needs from another craft library is defined in an allowed
#      layer (nm) — a hand-written prototype and a call show up here;
#   3. the table covers the tree: every src/<dir> is a layer, every include/craft header has an
#      owner, and public headers include only each other and system headers.
# Usage: tools/check_layers.sh [BUILD_DIR]    (a Ninja build tree of this source tree)
#        tools/check_layers.sh SOURCE_DIR     (builds its layer libraries in a scratch directory;
#                                              with no argument, this script's own tree)
#        tools/check_layers.sh --self-test    (plants each trick in a copy and sees the check fail)
set -euo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

failures=0
report() { # what why
    printf '%s: %s\n' "$1" "$2"
    failures=$((failures + 1))
}

# --- the table ---
declare -A USES=()  # layer -> "layer lower..." (itself first)
declare -A OWNER=() # public header -> owner layer
read_table() { # root
    local kind name rest
    while read -r kind name rest; do
        case "$kind" in
        layer) USES[$name]="$name $rest" ;;
        public) OWNER[$name]=$rest ;;
        esac
    done < <(grep -E '^(layer|public) ' "$1/tools/layers.txt")
}

may_use() { # layer other
    local w
    for w in ${USES[$1]}; do
        [[ "$w" == "$2" ]] && return 0
    done
    return 1
}

# --- 3. the table covers the tree ---
check_table() { # root
    local root=$1 d h name line target
    for d in "$root"/src/*; do
        [[ -d "$d" ]] || report "${d#"$root"/}" "sources live in a layer directory, not directly in src/"
    done
    for d in "$root"/src/*/; do
        name=$(basename "$d")
        [[ -n "${USES[$name]+set}" ]] || report "src/$name/" "not a layer in tools/layers.txt"
    done
    for h in "$root"/include/craft/*.h; do
        name=$(basename "$h")
        [[ -n "${OWNER[$name]+set}" ]] ||
            report "include/craft/$name" "public header without an owner in tools/layers.txt"
        while IFS= read -r line; do
            target=${line#*include}
            target=${target//[[:space:]]/}
            case "$target" in
            \<*) ;;
            \"*/*) report "include/craft/$name" "public headers include only each other: $line" ;;
            \"*) ;;
            *) report "include/craft/$name" "computed include: $line" ;;
            esac
        done < <(grep -E '^[[:space:]]*#' "$h" | grep -E 'include' || true)
    done
}

# The layer a real path belongs to ("" when outside the tree, i.e. a system header), or
# "public:<header>" for a public header, or "other:<path>" for anything else of the tree.
classify() { # root path
    local root=$1 p=$2 rel
    case "$p" in
    "$root"/src/*)
        rel=${p#"$root"/src/}
        echo "${rel%%/*}"
        ;;
    "$root"/include/craft/*) echo "public:${p#"$root"/include/craft/}" ;;
    "$root"/*) echo "other:${p#"$root"/}" ;;
    *) echo "" ;;
    esac
}

# --- 1. what the compiler read ---
check_deps() { # root build
    local root=$1 build=$2 line obj layer dep real cls
    if [[ ! -f "$build/build.ninja" ]]; then
        report "$build" "not a Ninja build tree (the check reads Ninja's dependency log)"
        return
    fi
    local n_objects=0
    layer=""
    while IFS= read -r line; do
        if [[ "$line" != " "* ]]; then
            obj=${line%%:*}
            layer=""
            # Layer library objects: CMakeFiles/craft_<lib>.dir/src/<layer>/...
            if [[ "$obj" =~ ^CMakeFiles/craft_[a-z_]+\.dir/src/([a-z]+)/ ]]; then
                layer=${BASH_REMATCH[1]}
                n_objects=$((n_objects + 1))
                [[ -n "${USES[$layer]+set}" ]] || { report "$obj" "layer $layer unknown"; layer=""; }
            fi
            continue
        fi
        [[ -z "$layer" ]] && continue
        dep=${line#"${line%%[![:space:]]*}"}
        [[ "$dep" == /* ]] || dep="$build/$dep"
        real=$(realpath -m "$dep")
        cls=$(classify "$root" "$real")
        case "$cls" in
        "") ;;
        public:*)
            local h=${cls#public:}
            if [[ -z "${OWNER[$h]+set}" ]]; then
                report "$obj" "includes include/craft/$h, which has no owner in tools/layers.txt"
            elif ! may_use "$layer" "${OWNER[$h]}"; then
                report "$obj" "layer $layer includes craft/$h (of layer ${OWNER[$h]}); allowed: ${USES[$layer]}"
            fi
            ;;
        other:*) report "$obj" "layer $layer includes ${cls#other:}, outside src/ and include/craft/" ;;
        *)
            may_use "$layer" "$cls" ||
                report "$obj" "layer $layer includes ${real#"$root"/} (layer $cls); allowed: ${USES[$layer]}"
            ;;
        esac
    done < <(cd "$build" && ninja -t deps)
    ((n_objects > 0)) || report "$build" "no layer objects in Ninja's dependency log: build first"
}

# --- 2. what the linker would join ---
lib_layer() { # libcraft_<name>.a -> layer (craft_io_sim is the io layer's test-only library)
    local n=${1#libcraft_}
    n=${n%.a}
    echo "${n%%_*}"
}

check_symbols() { # build
    local build=$1 lib layer sym def
    declare -A DEFINED=()
    local libs=("$build"/libcraft_*.a)
    [[ -e "${libs[0]}" ]] || { report "$build" "no libcraft_*.a: build first"; return; }
    for lib in "${libs[@]}"; do
        layer=$(lib_layer "$(basename "$lib")")
        while read -r sym; do
            DEFINED[$sym]=$layer
        done < <(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }')
    done
    for lib in "${libs[@]}"; do
        layer=$(lib_layer "$(basename "$lib")")
        while read -r sym; do
            def=${DEFINED[$sym]:-}
            [[ -z "$def" || "$def" == "$layer" ]] && continue
            may_use "$layer" "$def" ||
                report "$(basename "$lib")" "layer $layer uses $sym of layer $def; allowed: ${USES[$layer]}"
        done < <(nm -u "$lib" 2>/dev/null | awk '$1 == "U" { print $2 }' | sort -u)
    done
}

check() { # root build
    read_table "$1"
    check_table "$1"
    check_deps "$1" "$2"
    check_symbols "$2"
    if ((failures > 0)); then
        echo "check_layers: $failures violation(s); the allowed arrows are in tools/layers.txt" >&2
        return 1
    fi
    echo "check_layers: ok (includes as compiled, symbols as linked, table complete)"
}

# Builds only the layer libraries of the source tree $1 into $2 (Ninja: the check reads its
# dependency log), output to $3.
build_layers() { # root build log
    command -v ninja >/dev/null || { echo "check_layers: needs ninja (make deps installs it)" >"$3"; return 1; }
    cmake -S "$1" -B "$2" -G Ninja -DCRAFT_LIBS_ONLY=ON -DCMAKE_BUILD_TYPE=Debug >"$3" 2>&1 &&
        cmake --build "$2" >>"$3" 2>&1
}

# --- the self-test ---
self_test() {
    local src tmp rc=0 out
    src=$(cd "$(dirname "$SELF")/.." && pwd)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/tree"
    cp -r "$src/CMakeLists.txt" "$src/cmake" "$src/src" "$src/include" "$src/tools" "$tmp/tree/"
    if ! build_layers "$tmp/tree" "$tmp/build" "$tmp/build.log"; then
        echo "self-test: the clean copy does not build"
        cat "$tmp/build.log"
        return 1
    fi
    if out=$(bash "$SELF" "$tmp/build" 2>&1); then
        echo "self-test clean: passes as expected"
    else
        echo "self-test clean: expected to pass"
        echo "$out"
        return 1
    fi

    # Four tricks that fooled the text check, planted at once: each must be reported.
    local t=$tmp/tree
    printf '#include "../../include/craft/core.h"\n' >>"$t/src/storage/wal_record.c"
    printf '#include <stdint.h>\n' >"$t/src/storage/planted.h"
    printf '#/**/include "../storage/planted.h"\n' >>"$t/src/core/log.c"
    printf 'static const int planted_inc = 1;\n' >"$t/src/io/planted.inc"
    printf '#include "../io/planted.inc"\nint planted_use(void) { return planted_inc; }\n' \
        >>"$t/src/core/progress.c"
    printf 'int storage_sync(void *s);\nint planted_call(void) { return storage_sync(0); }\n' \
        >>"$t/src/core/membership.c"
    if ! cmake --build "$tmp/build" >"$tmp/build2.log" 2>&1; then
        echo "self-test tricks: the planted tree should still compile"
        cat "$tmp/build2.log"
        return 1
    fi
    out=$(bash "$SELF" "$tmp/build" 2>&1) && rc=1
    local want
    for want in "layer storage includes craft/core.h" \
        "wal_record.c.o: layer storage" \
        "log.c.o: layer core includes src/storage/planted.h" \
        "progress.c.o: layer core includes src/io/planted.inc" \
        "layer core uses storage_sync of layer storage"; do
        if grep -qF -- "$want" <<<"$out"; then
            echo "self-test tricks: caught: $want"
        else
            echo "self-test tricks: NOT caught: $want"
            rc=1
        fi
    done
    ((rc == 0)) || echo "$out"

    # The compiler itself refuses a plain include of a forbidden layer.
    printf '#include "storage/wal.h"\n' >>"$t/src/util/log.c"
    if cmake --build "$tmp/build" >"$tmp/build3.log" 2>&1; then
        echo "self-test compiler: util including storage/wal.h compiled"
        rc=1
    elif grep -q "storage/wal.h" "$tmp/build3.log"; then
        echo "self-test compiler: util cannot include storage/wal.h (not on its include path)"
    else
        echo "self-test compiler: the build failed for another reason"
        cat "$tmp/build3.log"
        rc=1
    fi
    return $rc
}

if [[ "${1:-}" == --self-test ]]; then
    self_test
    exit $?
fi
if [[ $# -gt 1 ]]; then
    echo "usage: $0 [BUILD_DIR | SOURCE_DIR] | --self-test" >&2
    exit 2
fi
ARG=${1:-$(dirname "$SELF")/..}
if [[ -f "$ARG/CMakeCache.txt" ]]; then
    BUILD=$(cd "$ARG" && pwd)
elif [[ -f "$ARG/tools/layers.txt" ]]; then
    # A source tree without a build named: build its layer libraries in a scratch directory.
    SCRATCH=$(mktemp -d)
    trap 'rm -rf "$SCRATCH"' EXIT
    if ! build_layers "$(cd "$ARG" && pwd)" "$SCRATCH/build" "$SCRATCH/build.log"; then
        echo "check_layers: the layer libraries do not build (a layer including what it may not?):" >&2
        cat "$SCRATCH/build.log" >&2
        exit 1
    fi
    BUILD=$SCRATCH/build
else
    echo "usage: $0 [BUILD_DIR | SOURCE_DIR] | --self-test" >&2
    exit 2
fi
# The source tree the build was made from (the self-test checks copies).
ROOT=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt")
check "$(cd "$ROOT" && pwd)" "$BUILD"
