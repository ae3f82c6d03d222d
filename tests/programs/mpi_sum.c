/* Every rank adds its rank with MPI_Allreduce, built with mpicc by the tests:
 * proves MPICH's own traffic between hosts works when bramble set it up. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    int rank, size, sum;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("rank %d of %d: the ranks add up to %d\n", rank, size, sum);
    MPI_Finalize();
    return 0;
}
