/* Ping-pong latency between ranks 0 and 1: half the round trip, in us. */
#include "osu.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    struct osu_options o = osu_parse(argc, argv, 4 << 20);
    char *buffer = calloc(o.max_size + 1, 1);
    if (rank == 0) osu_header("Latency Test", "Latency (us)");
    for (size_t size = 0; size <= o.max_size; size = size ? size * 2 : 1) {
        int iterations, warmup;
        if (!osu_prepare(&o, size, &iterations, &warmup)) continue;
        double start = 0;
        OSU_TIMED_LOOP(iterations, warmup, start) {
            if (rank == 0) {
                MPI_Send(buffer, (int)size, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
                MPI_Recv(buffer, (int)size, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(buffer, (int)size, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buffer, (int)size, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
            }
        }
        if (rank == 0) osu_row(size, (MPI_Wtime() - start) * 1e6 / iterations / 2);
    }
    free(buffer);
    MPI_Finalize();
    return 0;
}
