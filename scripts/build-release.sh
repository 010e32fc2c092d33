#!/usr/bin/env bash
# Builds the release binary the container ships: one file that needs only glibc (libc, libm,
# libgcc_s) where it runs.
#
#   scripts/build-release.sh [BUILD_PATH]      (default .build-static; the binary is BUILD_PATH/release/bearer-proxy)
#
# Linked in statically:
#   - Swift's runtime, Dispatch and FoundationEssentials (--static-swift-stdlib);
#   - OpenSSL (libssl.a, libcrypto.a from libssl-dev), libyaml (libyaml-dev), hiredis
#     (libhiredis-dev) and libstdc++.
# Why: each shared library costs resident memory in every process that maps it, whatever it
# uses of it: the loader reads its whole symbol and relocation tables, and the kernel maps code
# in 64 KiB windows. Linked in, only the objects the proxy uses are there, their relocations are
# packed (RELR), and the idle proxy holds about 2 MiB less (BENCHMARKS.md, "Idle memory").
# The cost: OpenSSL's security fixes reach the binary when it is rebuilt, which is when they
# reach a container image anyway. `bearer-proxy --version` names the OpenSSL it carries; image
# scanners see only the image's libssl3 package, not this copy.
#
# How: the module maps ask for -lssl, -lcrypto, -lyaml and -lhiredis, and the Swift toolchain adds -lstdc++.
# The linker takes, in each search directory in turn, the shared library before the archive, so
# a directory holding only the archives goes first on the search path. The end checks that no
# shared copy slipped in, so a missing archive fails the build instead of quietly linking .so files.
set -euo pipefail
cd "$(dirname "$0")/.."

build_path=${1:-.build-static}
mkdir -p "$build_path/static-libs"
archives=$(cd "$build_path/static-libs" && pwd)

# clang searches the same directories the linker will (multiarch included) and prints the bare
# name when it finds nothing.
for lib in libssl.a libcrypto.a libyaml.a libhiredis.a libstdc++.a; do
  found=$(clang -print-file-name="$lib")
  if [ "$found" = "$lib" ] || [ ! -f "$found" ]; then
    echo "build-release.sh: $lib not found (Debian: apt-get install libssl-dev libyaml-dev libhiredis-dev libstdc++-12-dev)" >&2
    exit 1
  fi
  ln -sfn "$found" "$archives/$lib"
done

# The code the proxy runs, packed at the start of the text (scripts/link-order.txt, written by
# bench/link-order.sh, says why): the linker can order only whole sections, hence a section per
# function in the code built here (Swift's static libraries already have them).
order="$PWD/scripts/link-order.txt"
swift build -c release --static-swift-stdlib --build-path "$build_path" --product bearer-proxy \
  -Xswiftc -L"$archives" -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
  -Xlinker --symbol-ordering-file="$order" -Xlinker --no-warn-symbol-ordering

bin="$build_path/release/bearer-proxy"
shared=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
for lib in libssl libcrypto libyaml libhiredis libstdc++; do
  case " $shared" in
    *" $lib."*) echo "build-release.sh: $bin still needs $lib as a shared library (needs: $shared)" >&2; exit 1 ;;
  esac
done
echo "build-release.sh: $bin (shared libraries: $shared)"
