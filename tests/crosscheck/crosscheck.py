"""The mpi4py half of the cross-check: the same computations on fixed inputs
as examples/crosscheck.rs, printed in the same format, so that
tests/crosscheck.rs can compare MPICH's numbers with bramble's line by line.

Rank 0 prints every rank's lines (gathered), so output never interleaves.

Run: mpiexec -n 4 python3 tests/crosscheck/crosscheck.py
"""

from array import array

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


lines = []


def show(name, values):
    lines.append(f"rank {rank} {name}: " + " ".join(str(v) for v in values))


def ints(values):
    return array("q", values)


mine = ints([rank + 1, 2 * rank - 3, rank * rank, 7 - rank])

for op_name, op in [("sum", MPI.SUM), ("prod", MPI.PROD), ("max", MPI.MAX), ("min", MPI.MIN),
                    ("band", MPI.BAND), ("bor", MPI.BOR), ("bxor", MPI.BXOR),
                    ("land", MPI.LAND), ("lor", MPI.LOR), ("lxor", MPI.LXOR)]:
    result = ints([0] * len(mine))
    comm.Reduce(mine, result if rank == 0 else None, op=op, root=0)
    if rank == 0:
        show(f"reduce {op_name}", result)

everywhere = ints([0] * len(mine))
comm.Allreduce(mine, everywhere, op=MPI.SUM)
show("allreduce sum", everywhere)

prefix = ints([0] * len(mine))
comm.Scan(mine, prefix, op=MPI.SUM)
show("scan sum", prefix)

before = ints([0] * len(mine))
comm.Exscan(mine, before, op=MPI.PROD)
if rank > 0:
    show("exscan prod", before)

outgoing = ints([100 * rank + j for j in range(size)])
incoming = ints([0] * size)
comm.Alltoall(outgoing, incoming)
show("alltoall", incoming)

block = ints([0] * 2)
comm.Reduce_scatter_block(ints([rank * 10 + j for j in range(2 * size)]), block, op=MPI.SUM)
show("reduce_scatter", block)

value, index = comm.allreduce((abs(rank - 1.5) * 2, rank), op=MPI.MINLOC)
show("minloc", [f"{value:.6f}", index])

total = comm.allreduce(0.1 * (rank + 1), op=MPI.SUM)
show("float sum", [f"{total:.6f}"])

show("allgather", comm.allgather(rank * rank))

everyone = comm.gather(lines, root=0)
if rank == 0:
    for rank_lines in everyone:
        for line in rank_lines:
            print(line)
