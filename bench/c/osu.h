/* What the C benchmarks share with examples/osu/mod.rs: the same options
 * (-s MIN, -m MAX, -i ITERATIONS, -x WARMUP), sizes, iteration counts and OSU output
 * format, so MPICH and bramble are measured the same way. */
#ifndef BRAMBLE_OSU_H
#define BRAMBLE_OSU_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OSU_LARGE (64 * 1024)

struct osu_options {
    size_t min_size;
    size_t max_size;
    int iterations;
    int warmup;
};

static struct osu_options osu_parse(int argc, char **argv, size_t default_max) {
    struct osu_options o = {0, default_max, 1000, 100};
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        if (strcmp(argv[i], "-m") == 0) o.max_size = (size_t)v;
        else if (strcmp(argv[i], "-s") == 0) o.min_size = (size_t)v;
        else if (strcmp(argv[i], "-i") == 0) o.iterations = v > 0 ? (int)v : 1;
        else if (strcmp(argv[i], "-x") == 0) o.warmup = (int)v;
        else { fprintf(stderr, "unknown option %s: use -s MIN, -m MAX, -i ITERATIONS, -x WARMUP\n", argv[i]); exit(2); }
    }
    return o;
}

static void osu_rounds(const struct osu_options *o, size_t size, int *iterations, int *warmup) {
    *iterations = size > OSU_LARGE ? (o->iterations / 10 > 0 ? o->iterations / 10 : 1) : o->iterations;
    *warmup = size > OSU_LARGE ? o->warmup / 10 : o->warmup;
}

static void osu_header(const char *title, const char *column) {
    printf("# OSU MPI %s (MPICH)\n# Size%22s\n", title, column);
}

static void osu_row(size_t size, double value) {
    printf("%-10zu%18.2f\n", size, value);
    fflush(stdout);
}

/* Whether a benchmark reports `size` (at least -s, at most -m); if so, sets
 * its rounds and lines the ranks up, ready to time it. */
static int osu_prepare(const struct osu_options *o, size_t size, int *iterations, int *warmup) {
    if (size < o->min_size || size > o->max_size) return 0;
    osu_rounds(o, size, iterations, warmup);
    MPI_Barrier(MPI_COMM_WORLD);
    return 1;
}

/* The timed loop of every benchmark, as examples/osu/mod.rs's `time_us`:
 * `warmup` untimed rounds, then `iterations` timed ones, from `start`. */
#define OSU_TIMED_LOOP(iterations, warmup, start) \
    for (int round_ = 0; round_ < (warmup) + (iterations); round_++) \
        if (round_ == (warmup) ? ((start) = MPI_Wtime(), 1) : 1)

#endif
