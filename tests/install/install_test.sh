#!/usr/bin/env bash
# Installs the build into a temporary prefix with `cmake --install --prefix` and builds a user's
# program (hello_craft.c) against it with nothing but `pkg-config craft`: once linked to the
# shared library, once to the static one (`pkg-config --static`); both must run. Also checks the
# layout: every public header, libcraft.a, libcraft.so -> .so.<major> -> .so.<version> with that
# soname, craft.pc's version, and that each installed header compiles on its own.
# usage: install_test.sh BUILD_DIR SOURCE_DIR CC [extra compiler flags...]
set -euo pipefail

build=$1 src=$2 cc=$3
shift 3
extra=("$@")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

die() {
    echo "install_test: $*" >&2
    exit 1
}

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; die "cmake --install failed"; }

pc=$(find "$prefix" -name craft.pc -path '*/pkgconfig/*')
[[ -n "$pc" ]] || die "no pkgconfig/craft.pc under the prefix"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir craft)
includedir=$(pkg-config --variable=includedir craft)
version=$(pkg-config --modversion craft)
[[ "$libdir" == "$prefix"/* ]] || die "craft.pc's libdir '$libdir' is outside the prefix"
[[ "$includedir" == "$prefix"/* ]] || die "craft.pc's includedir '$includedir' is outside the prefix"

for h in "$src"/include/craft/*.h; do
    [[ -f "$includedir/craft/$(basename "$h")" ]] || die "header craft/$(basename "$h") not installed"
done
major=${version%%.*}
[[ -f "$libdir/libcraft.a" ]] || die "libcraft.a not installed"
[[ -f "$libdir/libcraft.so.$version" ]] || die "libcraft.so.$version not installed"
[[ "$(readlink "$libdir/libcraft.so.$major")" == "libcraft.so.$version" ]] ||
    die "libcraft.so.$major does not point at libcraft.so.$version"
[[ "$(readlink "$libdir/libcraft.so")" == "libcraft.so.$major" ]] ||
    die "libcraft.so does not point at libcraft.so.$major"
readelf -d "$libdir/libcraft.so.$version" | grep -q "SONAME.*\[libcraft\.so\.$major\]" ||
    die "libcraft.so.$version's soname is not libcraft.so.$major"

flags=(-std=c11 -Wall -Wextra -Werror "${extra[@]}")
read -ra cflags <<<"$(pkg-config --cflags craft)"

# Each installed header stands alone for a user: it includes only other installed headers and
# system ones.
for h in "$includedir"/craft/*.h; do
    printf '#include <craft/%s>\n' "$(basename "$h")" |
        "$cc" "${flags[@]}" "${cflags[@]}" -fsyntax-only -x c - ||
        die "craft/$(basename "$h") does not compile on its own from the prefix"
done

# Shared: the plain `pkg-config --cflags --libs craft`; the loader finds the library by soname.
read -ra libs <<<"$(pkg-config --libs craft)"
"$cc" "${flags[@]}" "${cflags[@]}" -o "$tmp/hello_shared" "$src/tests/install/hello_craft.c" \
    "${libs[@]}" || die "the program does not build against the shared library"
readelf -d "$tmp/hello_shared" | grep -q "NEEDED.*\[libcraft\.so\.$major\]" ||
    die "the shared build does not need libcraft.so.$major"
LD_LIBRARY_PATH=$libdir "$tmp/hello_shared" || die "the shared build does not run"

# Static: `pkg-config --static` adds the private dependencies (libuv, pthread); -lcraft is asked
# for as libcraft.a by name, since the linker prefers the .so beside it.
libs=()
for f in $(pkg-config --static --libs craft); do
    [[ "$f" == -lcraft ]] && f=-l:libcraft.a
    libs+=("$f")
done
"$cc" "${flags[@]}" "${cflags[@]}" -o "$tmp/hello_static" "$src/tests/install/hello_craft.c" \
    "${libs[@]}" || die "the program does not build against the static library"
if readelf -d "$tmp/hello_static" | grep -q 'NEEDED.*libcraft'; then
    die "the static build still needs the shared library"
fi
"$tmp/hello_static" || die "the static build does not run"

# The embedding example, as a new user builds it: examples/counter.c against the installed copy
# alone (shared), run in its three-nodes-in-one-process mode.
read -ra libs <<<"$(pkg-config --libs craft)"
"$cc" "${flags[@]}" "${cflags[@]}" -o "$tmp/counter" "$src/examples/counter.c" "${libs[@]}" \
    -lpthread || die "examples/counter.c does not build against the installed library"
(cd "$tmp" && LD_LIBRARY_PATH=$libdir timeout 60 ./counter >"$tmp/counter.out" 2>&1) ||
    die "examples/counter.c built against the installed library does not run: $(tail -5 "$tmp/counter.out")"

echo "install_test: ok (craft $version in a temporary prefix; shared and static builds run, and examples/counter.c)"
