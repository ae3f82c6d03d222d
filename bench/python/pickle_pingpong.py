"""Ping-pong of a small object with mpi4py's pickle-based send/recv: the
counterpart of examples/pingpong_serde.rs. Prints half the round trip in us.

Run: mpiexec -n 2 python3 bench/python/pickle_pingpong.py [ITERATIONS]
"""
import sys
import time

from mpi4py import MPI

comm = MPI.COMM_WORLD
iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
warmup = iterations // 10
reading = {"sensor": "pi", "id": 7, "x": 1.5, "y": -2.25}
start = time.perf_counter()
for i in range(warmup + iterations):
    if i == warmup:
        start = time.perf_counter()
    if comm.rank == 0:
        comm.send(reading, dest=1, tag=0)
        back = comm.recv(source=1, tag=0)
        assert back == reading
    elif comm.rank == 1:
        comm.send(comm.recv(source=0, tag=0), dest=0, tag=0)
if comm.rank == 0:
    micros = (time.perf_counter() - start) * 1e6 / iterations / 2
    print(f"pickle ping-pong latency (us): {micros:.2f}")
