# bench/peers/openblas_core.sh — sourced by the peer scripts. Sets
# OPENBLAS_CORES: the OpenBLAS kernel families ("core types") to time, best
# result kept, so that the peer runs at its best on this CPU.
#
# Why: OpenBLAS 0.3.21 (Debian 12) identifies CPUs by their model numbers, and
# on a CPU it does not know (a newer Xeon, or a virtual machine reporting a
# generic "Intel Xeon Processor") it falls back to its Prescott kernels (SSE3),
# about a quarter of its real speed. Comparing against that would flatter us.
# When the detected core is Prescott but the CPU has AVX-512 or AVX2, the
# families that CPU can run are tried instead. OPENBLAS_CORES=... overrides;
# OPENBLAS_CORETYPE, if set, is respected as the only one.
#
# Needs: $1 = a program linked with OpenBLAS that prints its core name when
# run with the argument --core.
openblas_pick_cores() {
    if [ -n "${OPENBLAS_CORES:-}" ]; then return; fi
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then OPENBLAS_CORES=$OPENBLAS_CORETYPE; return; fi
    detected=$("$1" --core 2>/dev/null || echo unknown)
    OPENBLAS_CORES=$detected
    if [ "$detected" = Prescott ] && [ -r /proc/cpuinfo ]; then
        if grep -qw avx512f /proc/cpuinfo; then
            OPENBLAS_CORES="SkylakeX Cooperlake SapphireRapids Haswell"
        elif grep -qw avx2 /proc/cpuinfo; then
            OPENBLAS_CORES="Haswell Zen"
        fi
    fi
    echo "# OpenBLAS detects core '$detected'; timing core types: $OPENBLAS_CORES (best kept)"
}
