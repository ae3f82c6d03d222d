/* Streaming bandwidth 0 -> 1: windows of 64 non-blocking sends, one short ack. */
#include "osu.h"

#define WINDOW 64

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    struct osu_options o = osu_parse(argc, argv, 4 << 20);
    char *data = calloc(o.max_size, 1);
    char *inbox = calloc(o.max_size * WINDOW, 1);
    MPI_Request requests[WINDOW];
    char ack = 0;
    if (rank == 0) osu_header("Bandwidth Test", "Bandwidth (MB/s)");
    for (size_t size = 1; size <= o.max_size; size *= 2) {
        int iterations, warmup;
        if (!osu_prepare(&o, size, &iterations, &warmup)) continue;
        double start = 0;
        OSU_TIMED_LOOP(iterations, warmup, start) {
            if (rank == 0) {
                for (int w = 0; w < WINDOW; w++) MPI_Isend(data, (int)size, MPI_CHAR, 1, 100, MPI_COMM_WORLD, &requests[w]);
                MPI_Waitall(WINDOW, requests, MPI_STATUSES_IGNORE);
                MPI_Recv(&ack, 1, MPI_CHAR, 1, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                for (int w = 0; w < WINDOW; w++) MPI_Irecv(inbox + w * size, (int)size, MPI_CHAR, 0, 100, MPI_COMM_WORLD, &requests[w]);
                MPI_Waitall(WINDOW, requests, MPI_STATUSES_IGNORE);
                MPI_Send(&ack, 1, MPI_CHAR, 0, 101, MPI_COMM_WORLD);
            }
        }
        double per_window = (MPI_Wtime() - start) * 1e6 / iterations;
        if (rank == 0) osu_row(size, (double)(size * WINDOW) / per_window);
    }
    free(data);
    free(inbox);
    MPI_Finalize();
    return 0;
}
