#!/usr/bin/env bash
# Rejects an #include that points up a layer (DESIGN.md §1), one that climbs with "../", and a
# public header that reaches into src/. Usage: tools/check_layers.sh [ROOT] | --self-test
set -euo pipefail

# The allowed arrows: the one place they live. Each layer (a directory of src/) may include itself,
# the public headers in include/craft/, system headers, and the layers listed here.
declare -A ALLOWED=(
    [util]=""
    [io]="util"
    [net]="util io"
    [storage]="util io"
    [core]="util"
    [node]="core storage net io util"
    [multi]="node core storage net io util"
    [kv]="util"
    [server]="multi node kv core storage net io util"
)

# Prints one violation and remembers that the check failed.
failures=0
report() { # file line text why
    printf '%s:%s: %s: %s\n' "$1" "$2" "$3" "$4"
    failures=$((failures + 1))
}

# Is $2 one of the words in $1?
contains_word() {
    local word
    for word in $1; do
        [[ "$word" == "$2" ]] && return 0
    done
    return 1
}

# Checks one include target ($4, without quotes or brackets; $5 is '"' or '<') in file $1, line $2,
# written as $3, where the file belongs to layer $6 ("craft" for a public header).
check_include() {
    local file=$1 line=$2 text=$3 target=$4 kind=$5 layer=$6
    local dir first

    if [[ "$target" == *../* || "$target" == ../* || "$target" == .. ]]; then
        report "$file" "$line" "$text" "includes must not climb with ../ (write cross-layer paths from src/)"
        return
    fi
    dir=$(dirname "$file")
    # Quoted includes resolve beside the including file first: that file is in the same layer.
    if [[ "$kind" == '"' && -e "$ROOT/$dir/$target" ]]; then
        return
    fi
    if [[ "$target" != */* ]]; then
        # A bare name: same layer (or a system header written with quotes).
        return
    fi
    first=${target%%/*}
    if [[ "$first" == craft ]]; then
        return # the public headers
    fi
    if [[ -z "${ALLOWED[$first]+set}" ]]; then
        if [[ "$kind" == '"' ]]; then
            report "$file" "$line" "$text" "'$first/' is not a layer (layers: ${!ALLOWED[*]})"
        fi
        return # <sys/types.h> and other system headers
    fi
    # <net/if.h> is a system header unless src/ really holds it.
    if [[ "$kind" == '<' && ! -e "$ROOT/src/$target" ]]; then
        return
    fi
    if [[ "$layer" == craft ]]; then
        report "$file" "$line" "$text" "public headers may include only include/craft/ and system headers"
        return
    fi
    if [[ "$first" == "$layer" ]]; then
        return
    fi
    if ! contains_word "${ALLOWED[$layer]}" "$first"; then
        report "$file" "$line" "$text" \
            "layer $layer may not include $first (allowed: ${ALLOWED[$layer]:-none})"
    fi
}

# Checks every include line of one file (path relative to ROOT) belonging to layer $2.
check_file() {
    local file=$1 layer=$2 hit line text rest kind target
    while IFS= read -r hit; do
        line=${hit%%:*}
        text=${hit#*:}
        [[ "$text" =~ ^[[:space:]]*(#[[:space:]]*include[[:space:]]*(.*[^[:space:]]))[[:space:]]*$ ]] ||
            continue
        text=${BASH_REMATCH[1]}
        rest=${BASH_REMATCH[2]}
        kind=${rest:0:1}
        case "$kind" in
        '"') target=${rest:1} target=${target%%\"*} ;;
        '<') target=${rest:1} target=${target%%>*} ;;
        *)
            report "$file" "$line" "$text" "computed includes cannot be checked; write the path"
            continue
            ;;
        esac
        check_include "$file" "$line" "$text" "$target" "$kind" "$layer"
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$ROOT/$file" || true)
}

check_tree() {
    local file layer
    while IFS= read -r file; do
        file=${file#"$ROOT"/}
        case "$file" in
        src/*/*)
            layer=${file#src/}
            layer=${layer%%/*}
            if [[ -z "${ALLOWED[$layer]+set}" ]]; then
                report "$file" 1 "(file)" "src/$layer/ is not a known layer: add it to ALLOWED in $0"
                continue
            fi
            ;;
        src/*)
            report "$file" 1 "(file)" "sources live in a layer directory, not directly in src/"
            continue
            ;;
        include/craft/*) layer=craft ;;
        *) continue ;;
        esac
        check_file "$file" "$layer"
    done < <(find "$ROOT/src" "$ROOT/include/craft" -type f \( -name '*.c' -o -name '*.h' \) \
        2>/dev/null | LC_ALL=C sort)
    if ((failures > 0)); then
        echo "check_layers: $failures bad include(s); allowed arrows are at the top of $0" >&2
        return 1
    fi
    echo "check_layers: ok"
}

# Builds small trees and checks that good ones pass and each kind of bad include is caught.
self_test() {
    local tmp self rc=0 out
    self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN

    make_good() { # root
        mkdir -p "$1/src/util" "$1/src/core" "$1/src/node" "$1/src/io/uv" "$1/include/craft"
        printf '#include <stdint.h>\n' >"$1/src/util/assert.h"
        printf '#include "assert.h"\n#include "craft/errors.h"\n' >"$1/src/util/assert.c"
        printf '#include "craft/core.h"\n' >"$1/src/core/log.h"
        printf '#include "log.h"\n#include "util/assert.h"\n#include <net/if.h>\n' >"$1/src/core/log.c"
        printf '#include "core/log.h"\n#include "util/assert.h"\n' >"$1/src/node/node.c"
        printf '#include "loop.h"\n' >"$1/src/io/uv/loop.c"
        printf '#include <stdint.h>\n' >"$1/src/io/uv/loop.h"
        printf '#include "errors.h"\n#include <stddef.h>\n' >"$1/include/craft/core.h"
        printf '#include "craft/core.h"\n' >"$1/include/craft/errors.h"
    }
    expect() { # name want(pass|fail) root [pattern]
        local got
        if out=$(bash "$self" "$3" 2>&1); then got=pass; else got=fail; fi
        if [[ "$got" != "$2" ]]; then
            echo "self-test $1: expected $2, got $got"
            echo "$out"
            rc=1
        elif [[ $# -ge 4 ]] && ! grep -qF -- "$4" <<<"$out"; then
            echo "self-test $1: output lacks '$4'"
            echo "$out"
            rc=1
        else
            echo "self-test $1: $2 as expected"
        fi
    }
    bad_case() { # name file text pattern
        local root="$tmp/$1"
        make_good "$root"
        printf '/* line 1 */\n%s\n' "$3" >>"$root/$2"
        expect "$1" fail "$root" "$4"
    }

    make_good "$tmp/good"
    expect good pass "$tmp/good"
    bad_case util_up src/util/assert.c '#include "core/log.h"' 'src/util/assert.c:4: #include "core/log.h"'
    bad_case core_up src/core/log.c '#include "node/node.h"' 'src/core/log.c:5:'
    bad_case core_side src/core/log.c '#  include "storage/wal.h"' 'layer core may not include storage'
    bad_case angle_up src/util/assert.h '#include <core/log.h>' 'src/util/assert.h:3:'
    bad_case climb src/core/log.c '#include "../util/assert.h"' '../'
    bad_case public include/craft/core.h '#include "util/assert.h"' 'public headers'
    bad_case not_layer src/node/node.c '#include "nosuch/x.h"' 'is not a layer'
    local root="$tmp/new_layer"
    make_good "$root"
    mkdir -p "$root/src/extra" && printf '\n' >"$root/src/extra/x.c"
    expect new_layer fail "$root" 'not a known layer'
    return $rc
}

if [[ "${1:-}" == --self-test ]]; then
    self_test
    exit $?
fi
ROOT=$(cd "${1:-$(dirname "$0")/..}" && pwd)
check_tree
