#!/usr/bin/env bash
# build-kernels.sh — compiles every perfusion-cuda/src/main/cuda/*.cu into the class-path resources
# src/main/resources/dev/perfusion/cuda/kernels/:
#   <module>.ptx           PTX for compute_80 (the driver JITs it for newer GPUs; nvcc 13 writes PTX ISA 9.0,
#                          which needs a CUDA 13 driver)
#   <module>.sm_XY.cubin   machine code for sm_80 and sm_90 (what makes CUDA 12 drivers work). An sm_80 cubin
#                          also runs on sm_86 and sm_89 (same major version, binary compatible), so those are not
#                          built: they would double the resources for no new device.
#   manifest.json          sha256 of every .cu and .cuh source and of every output, the nvcc version, the flags
# KernelManifestTest (a CPU test) fails when a source changed and this script was not run again.
#
# Pinned flags: -O3 -std=c++17 (never --use_fast_math: the kernels rely on IEEE expf/erff). LINEINFO=1 adds
# -lineinfo for profiling builds (source lines in Nsight); it roughly triples the cubins, so shipped kernels go
# without it.
# Any nvcc or ptxas warning is an error. The output is deterministic (byte-identical from any checkout): the
# sources are compiled from a fixed folder, PTX line info names them by their path in the repository, and each
# cubin is assembled by ptxas from that PTX, exactly as `nvcc -cubin` does internally
# (`ptxas -arch=sm_XY -m64 --generate-line-info`).
#
# Usage: perfusion-cuda/build-kernels.sh        (from anywhere; NVCC=/path/to/nvcc to choose the compiler)
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")"
SRC=src/main/cuda
OUT=src/main/resources/dev/perfusion/cuda/kernels
NVCC=${NVCC:-nvcc}
PTXAS=${PTXAS:-$(dirname "$(command -v "$NVCC")")/ptxas}
PTX_ARCH=80
CUBIN_ARCHS=(80 90)
FLAGS=(-O3 -std=c++17)
PTXAS_FLAGS=(-m64)
if [ "${LINEINFO:-0}" = 1 ]; then
    FLAGS+=(-lineinfo)
    PTXAS_FLAGS+=(--generate-line-info)
fi
REPO_PATH=perfusion-cuda/src/main/cuda

command -v "$NVCC" >/dev/null || { echo "build-kernels.sh: nvcc not found (set NVCC)" >&2; exit 1; }
[ -x "$PTXAS" ] || PTXAS=ptxas
command -v "$PTXAS" >/dev/null || { echo "build-kernels.sh: ptxas not found next to nvcc (set PTXAS)" >&2; exit 1; }

mapfile -t CU < <(cd "$SRC" && ls -1 -- *.cu | sort)
mapfile -t CUH < <(cd "$SRC" && { ls -1 -- *.cuh 2>/dev/null || true; } | sort)
[ "${#CU[@]}" -gt 0 ] || { echo "build-kernels.sh: no .cu files in $SRC" >&2; exit 1; }

# nvcc derives the names of internal-linkage symbols (in the line info) from the source's absolute folder, so
# the sources are compiled from one fixed folder, whatever the checkout: that makes the output identical across
# checkouts and machines. A lock keeps two builds from sharing it. The copy is also a snapshot: an edit during
# the build cannot pair new hashes with old outputs.
BUILD_ROOT=/tmp/perfusion-cuda-kernels-build
mkdir -p "$BUILD_ROOT"
exec 9>"$BUILD_ROOT.lock"
flock 9
TMP="$BUILD_ROOT/work"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
ABS_SRC="$BUILD_ROOT/src"
rm -rf "$ABS_SRC"
mkdir -p "$ABS_SRC"
for f in "${CU[@]}" "${CUH[@]}"; do cp -- "$SRC/$f" "$ABS_SRC/$f"; done

# runs a compiler command; fails on a non-zero exit or on any warning it prints
run() {
    local log="$TMP/log"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "build-kernels.sh: FAILED: $*" >&2
        exit 1
    fi
    if grep -qi "warning" "$log"; then
        cat "$log" >&2
        echo "build-kernels.sh: warnings are errors: $*" >&2
        exit 1
    fi
}

# PTX for compute_$1 of module $2 into $3, with the source paths made checkout-independent
ptx() {
    local arch=$1 module=$2 dst=$3
    run "$NVCC" -ptx -arch=compute_"$arch" "${FLAGS[@]}" --Werror all-warnings -I"$ABS_SRC" \
        "$ABS_SRC/$module.cu" -o "$TMP/$module.$arch.ptx"
    sed "s#\"$ABS_SRC/#\"$REPO_PATH/#g" "$TMP/$module.$arch.ptx" >"$dst"
}

# everything is built into a staging folder and replaces the shipped resources only when all of it succeeded,
# so a failed build leaves the previous (consistent) kernels and manifest in place
STAGE="$TMP/out"
mkdir -p "$STAGE"
for cu in "${CU[@]}"; do
    m=${cu%.cu}
    echo "build-kernels.sh: $m"
    ptx "$PTX_ARCH" "$m" "$STAGE/$m.ptx"
    for a in "${CUBIN_ARCHS[@]}"; do
        ptx "$a" "$m" "$TMP/$m.sm_$a.ptx"
        run "$PTXAS" -arch=sm_"$a" "${PTXAS_FLAGS[@]}" "$TMP/$m.sm_$a.ptx" -o "$STAGE/$m.sm_$a.cubin"
    done
done

sha() { sha256sum "$1" | cut -d' ' -f1; }
json_escape() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

NVCC_VERSION=$("$NVCC" --version | grep -i "release" | tail -n 1 | json_escape)
{
    echo "{"
    echo "  \"generator\": \"perfusion-cuda/build-kernels.sh\","
    echo "  \"nvcc\": \"$NVCC_VERSION\","
    echo "  \"flags\": \"${FLAGS[*]} --Werror all-warnings\","
    echo "  \"ptxasFlags\": \"${PTXAS_FLAGS[*]}\","
    echo "  \"ptxArch\": \"compute_$PTX_ARCH\","
    echo -n "  \"cubinArchs\": ["
    sep=""
    for a in "${CUBIN_ARCHS[@]}"; do echo -n "$sep\"sm_$a\""; sep=", "; done
    echo "],"
    echo -n "  \"modules\": ["
    sep=""
    for cu in "${CU[@]}"; do echo -n "$sep\"${cu%.cu}\""; sep=", "; done
    echo "],"
    echo "  \"sources\": {"
    all=("${CU[@]}" "${CUH[@]}")
    mapfile -t all < <(printf '%s\n' "${all[@]}" | sort)
    n=${#all[@]}
    i=0
    for f in "${all[@]}"; do
        i=$((i + 1))
        comma=","; [ "$i" -eq "$n" ] && comma=""
        echo "    \"$f\": \"$(sha "$ABS_SRC/$f")\"$comma"
    done
    echo "  },"
    echo "  \"outputs\": {"
    mapfile -t outs < <(cd "$STAGE" && ls -1 -- *.ptx *.cubin | sort)
    n=${#outs[@]}
    i=0
    for f in "${outs[@]}"; do
        i=$((i + 1))
        comma=","; [ "$i" -eq "$n" ] && comma=""
        echo "    \"$f\": \"$(sha "$STAGE/$f")\"$comma"
    done
    echo "  }"
    echo "}"
} >"$STAGE/manifest.json"

mkdir -p "$OUT"
rm -f "$OUT"/*.ptx "$OUT"/*.cubin "$OUT"/manifest.json
cp "$STAGE"/*.ptx "$STAGE"/*.cubin "$STAGE"/manifest.json "$OUT"/
echo "build-kernels.sh: wrote ${#CU[@]} modules and $OUT/manifest.json"
