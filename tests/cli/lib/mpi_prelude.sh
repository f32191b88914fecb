# Sourced by the tests/cli/mpi_*.sh scripts (this folder is not globbed as tests) after they
# set R1 (absolute path of the r1 binary) and DIR (scratch folder). Skips the test (exit 77 =
# ctest "Skipped", with the reason) when mpirun is absent or r1 was built without MPI; then
# starts DIR empty, pins one thread per rank and defines
#   MPI_FLAGS  mpirun flags for ranks on this machine,
#   MPIRUN     mpirun -np 2 with those flags,
#   fail MSG   print FAIL: MSG and exit 1,
#   rank_pid MPIRUN_PID RANK   the pid of one rank (for signal tests).
if ! command -v mpirun > /dev/null; then
    echo "SKIP: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
    exit 77
fi
# --steps 0 fails validation right after the communicator is made (nothing is trained)
mpi_probe="$("$R1" train --dist mpi --out "$DIR/probe" --steps 0 2>&1 || true)"
if grep -q "built without MPI" <<< "$mpi_probe"; then
    echo "SKIP: r1 was built without MPI (-DR1_MPI=OFF or libopenmpi-dev missing)"
    exit 77
fi
rm -rf "$DIR"
mkdir -p "$DIR"
export OMP_NUM_THREADS=1 R1_THREADS=1
# vader = shared memory; single-copy off: containers often forbid the ptrace it needs.
MPI_FLAGS=(--oversubscribe --allow-run-as-root --mca btl self,vader
           --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS -x R1_THREADS)
MPIRUN=(mpirun -np 2 "${MPI_FLAGS[@]}")
fail() { echo "FAIL: $*"; exit 1; }
rank_pid() {  # rank_pid MPIRUN_PID RANK: pid of that rank among mpirun's children
    local p
    for _ in $(seq 1 400); do
        for p in $(pgrep -P "$1" || true); do
            if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
                echo "$p"
                return 0
            fi
        done
        sleep 0.05
    done
    return 1
}
