/* Broadcast latency from rank 0, averaged over the ranks, in us. */
#include "osu.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size_ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size_ranks);
    struct osu_options o = osu_parse(argc, argv, 1 << 20);
    char *buffer = calloc(o.max_size, 1);
    if (rank == 0) osu_header("Broadcast Latency Test", "Avg Latency(us)");
    for (size_t size = 1; size <= o.max_size; size *= 2) {
        int iterations, warmup;
        if (!osu_prepare(&o, size, &iterations, &warmup)) continue;
        double start = 0;
        OSU_TIMED_LOOP(iterations, warmup, start) {
            MPI_Bcast(buffer, (int)size, MPI_CHAR, 0, MPI_COMM_WORLD);
        }
        double mine = (MPI_Wtime() - start) * 1e6 / iterations, total = 0;
        MPI_Reduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) osu_row(size, total / size_ranks);
    }
    free(buffer);
    MPI_Finalize();
    return 0;
}
