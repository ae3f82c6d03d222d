/* Bidirectional bandwidth: ranks 0 and 1 each send a window of 64 at once. */
#include "osu.h"

#define WINDOW 64

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    struct osu_options o = osu_parse(argc, argv, 4 << 20);
    char *data = calloc(o.max_size, 1);
    char *inbox = calloc(o.max_size * WINDOW, 1);
    MPI_Request requests[2 * WINDOW];
    int peer = rank == 0 ? 1 : 0;
    if (rank == 0) osu_header("Bi-Directional Bandwidth Test", "Bandwidth (MB/s)");
    for (size_t size = 1; size <= o.max_size; size *= 2) {
        int iterations, warmup;
        if (!osu_prepare(&o, size, &iterations, &warmup)) continue;
        double start = 0;
        /* Ranks beyond the pair only take part in the barriers. */
        if (rank < 2) OSU_TIMED_LOOP(iterations, warmup, start) {
            for (int w = 0; w < WINDOW; w++) MPI_Irecv(inbox + w * size, (int)size, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &requests[w]);
            for (int w = 0; w < WINDOW; w++) MPI_Isend(data, (int)size, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &requests[WINDOW + w]);
            MPI_Waitall(2 * WINDOW, requests, MPI_STATUSES_IGNORE);
        }
        double per_window = (MPI_Wtime() - start) * 1e6 / iterations;
        if (rank == 0) osu_row(size, (double)(2 * size * WINDOW) / per_window);
    }
    free(data);
    free(inbox);
    MPI_Finalize();
    return 0;
}
