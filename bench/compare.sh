#!/usr/bin/env bash
# Bramble against MPICH, side by side in one run (issue "Speed"): builds
# everything, measures each case on this machine and across testbed hosts,
# and prints a table of bramble/reference ratios against the targets.
#
#   bench/compare.sh [--quick] [--local-only] [--markdown]
#
#   --quick       3 rounds instead of 5 (about 1 minute instead of 2)
#   --local-only  skip the testbed cases (they need root, sshd, iproute2)
#   --markdown    print the table, the machine and the date as markdown, for
#                 docs/PERFORMANCE.md
#
# Every measurement runs ROUNDS times, alternating bramble and its reference
# so that a noisy moment hurts both, and reports the median. Progress goes
# to stderr, the table to stdout. Anything that cannot run stops the script
# with its output: a missing number must never read as a result.
#
# Internal: `compare.sh --on-testbed PART RESULTS ROUNDS` is how the script
# runs its testbed cases on host node0, under tests/testbed/examples/bench_hosts.rs.
set -euo pipefail
# Failures inside $(...) must stop the script too.
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SELF="$ROOT/bench/compare.sh"
BRAMBLE="$ROOT/target/release/bramble"
EXAMPLES="$ROOT/target/release/examples"
C_BENCH="$ROOT/target/bench"
# A run that takes longer is hung, not slow.
LIMIT=120s

# Message sizes and iteration counts per case, the same for both sides.
LATENCY=(-s 8 -m 8 -i 10000 -x 1000)
BANDWIDTH=(-s 4194304 -m 4194304 -i 50 -x 10)          # 5 timed windows of 64 x 4 MiB
SHAPED_BANDWIDTH=(-s 4194304 -m 4194304 -i 10 -x 10)   # 1 timed window: 2 s at 1 Gbit
ALLREDUCE_SMALL=(-s 8 -m 8 -i 10000 -x 1000)
ALLREDUCE_LARGE=(-s 1048576 -m 1048576 -i 2000 -x 100)
ALLREDUCE_CROWDED=(-s 8 -m 8 -i 100 -x 10)              # MPICH needs ms per call here
PINGPONG_ITERATIONS=10000
LINE_RATE_MBPS=125                                       # 1 Gbit/s in MB/s

die() {
    echo "compare.sh: $*" >&2
    exit 1
}

note() {
    echo "$*" >&2
}

# Runs COMMAND... with a time limit, stdout in $WORK/out and stderr in
# $WORK/err; on failure shows both and fails.
quietly() {
    if ! timeout "$LIMIT" "$@" >"$WORK/out" 2>"$WORK/err"; then
        {
            echo "compare.sh: this failed (or ran over $LIMIT): $*"
            sed 's/^/  | /' "$WORK/out" "$WORK/err"
        } >&2
        return 1
    fi
}

# The number at the end of the last line of $WORK/out that ends in one: an
# OSU row ("8    0.43") or the ping-pongs' "... latency (us): 2.10".
last_number() {
    awk '$NF ~ /^[0-9]+(\.[0-9]+)?$/ && !/^#/ { value = $NF } END { if (value == "") exit 1; print value }' "$WORK/out" ||
        die "no result in the output of the last run:$(sed 's/^/  | /' "$WORK/out")"
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- One measurement each: print one number ------------------------------

# RANKS PROGRAM ARGS...: an example under `bramble run` (with $PLACE's hosts).
bramble_example() {
    local ranks=$1 program=$2
    shift 2
    quietly "$BRAMBLE" run "${PLACE[@]}" -n "$ranks" "$EXAMPLES/$program" "$@"
    last_number
}

# RANKS PROGRAM ARGS...: a C twin under MPICH's mpiexec (with $PLACE's hosts
# and $MPICH_ENV).
mpich_program() {
    local ranks=$1 program=$2
    shift 2
    quietly mpiexec "${PLACE[@]}" "${MPICH_ENV[@]}" -n "$ranks" "$C_BENCH/$program" "$@"
    last_number
}

# COMMAND...: median wall time in ms of 3 runs (after 1 warm-up) by hyperfine.
launch_ms() {
    quietly hyperfine --shell=none --style none --warmup 1 --runs 3 \
        --export-json "$WORK/hyperfine.json" "$*"
    jq '(.results[0].median * 1e6 | round) / 1000' "$WORK/hyperfine.json"
}

latency_bramble() { bramble_example 2 osu_latency "${LATENCY[@]}"; }
latency_mpich() { mpich_program 2 osu_latency "${LATENCY[@]}"; }
bw_bramble() { bramble_example 2 osu_bw "${BANDWIDTH[@]}"; }
bw_mpich() { mpich_program 2 osu_bw "${BANDWIDTH[@]}"; }
allreduce8_bramble() { bramble_example 2 osu_allreduce "${ALLREDUCE_SMALL[@]}"; }
allreduce8_mpich() { mpich_program 2 osu_allreduce "${ALLREDUCE_SMALL[@]}"; }
allreduce1m_bramble() { bramble_example 2 osu_allreduce "${ALLREDUCE_LARGE[@]}"; }
allreduce1m_mpich() { mpich_program 2 osu_allreduce "${ALLREDUCE_LARGE[@]}"; }
allreduce8x4_bramble() { bramble_example 4 osu_allreduce "${ALLREDUCE_CROWDED[@]}"; }
allreduce8x4_mpich() { mpich_program 4 osu_allreduce "${ALLREDUCE_CROWDED[@]}"; }
serde_bramble() { bramble_example 2 pingpong_serde "$PINGPONG_ITERATIONS"; }

pickle_mpi4py() {
    quietly mpiexec -n 2 python3 "$ROOT/bench/python/pickle_pingpong.py" "$PINGPONG_ITERATIONS"
    last_number
}

# hello on $LAUNCH_RANKS ranks (on $PLACE's hosts).
launch_bramble() { launch_ms "$BRAMBLE" run "${PLACE[@]}" -n "$LAUNCH_RANKS" "$EXAMPLES/hello"; }
launch_mpich() { launch_ms mpiexec "${PLACE[@]}" -n "$LAUNCH_RANKS" "$C_BENCH/mpi_hello"; }

# MB/s from node0 to the second testbed host over 2 s, by iperf3.
bw_iperf3() {
    quietly iperf3 -c "${HOSTS[1]}" -t 2 -J
    jq '(.end.sum_received.bits_per_second / 8e3 | round) / 1000' "$WORK/out"
}

# An iperf3 server on the second testbed host, living until the testbed is
# torn down; returns once it listens, so the first client finds it.
start_iperf3_server() {
    # shellcheck disable=SC2016 # the script runs on the other host
    quietly ssh "${HOSTS[1]}" 'iperf3 -s -D && for _ in $(seq 50); do ss -ltn | grep -q ":5201 " && exit 0; sleep 0.1; done; echo "iperf3 -s is not listening" >&2; exit 1'
}

# --- Alternation ----------------------------------------------------------

# alternate CASE PREFIX FUNCTION... calls every function once per round, in
# the order given, for $ROUNDS rounds, and records the median of each in
# $RESULTS as PREFIX+FUNCTION.
alternate() {
    local title=$1 prefix=$2 round function value
    shift 2
    for ((round = 1; round <= ROUNDS; round++)); do
        local line="$title, round $round/$ROUNDS:"
        for function in "$@"; do
            value=$("$function")
            echo "$value" >>"$WORK/samples.$prefix$function"
            line+=" $function $value"
        done
        note "$line"
    done
    for function in "$@"; do
        echo "$prefix$function $(median <"$WORK/samples.$prefix$function")" >>"$RESULTS"
    done
}

# --- The cases --------------------------------------------------------------

local_cases() {
    PLACE=()
    MPICH_ENV=()
    LAUNCH_RANKS=4
    alternate "8 B latency, one host" local_ latency_bramble latency_mpich
    alternate "4 MiB bandwidth, one host" local_ bw_bramble bw_mpich
    alternate "8 B allreduce, 2 ranks" local_ allreduce8_bramble allreduce8_mpich
    alternate "1 MiB allreduce, 2 ranks" local_ allreduce1m_bramble allreduce1m_mpich
    alternate "8 B allreduce, 4 ranks on 2 cores" local_ allreduce8x4_bramble allreduce8x4_mpich
    alternate "struct ping-pong" local_ serde_bramble pickle_mpi4py
    alternate "launch of a 4-rank hello" local_ launch_bramble launch_mpich
}

# PART: the testbed cases, run on node0 by bench_hosts.
testbed_cases() {
    [[ -n ${TESTBED_HOSTFILE:-} && -n ${TESTBED_HOSTS:-} ]] ||
        die "--on-testbed is for bench_hosts to call, which sets TESTBED_HOSTFILE and TESTBED_HOSTS"
    read -ra HOSTS <<<"$TESTBED_HOSTS"
    PLACE=(-f "$TESTBED_HOSTFILE")
    # MPICH's UCX over TCP: the comparison for a network between hosts.
    MPICH_ENV=(-genv UCX_TLS "tcp,self")
    case $1 in
    across)
        start_iperf3_server
        alternate "8 B latency, across hosts" hosts_ latency_bramble latency_mpich
        alternate "4 MiB bandwidth, across hosts" hosts_ bw_bramble bw_mpich bw_iperf3
        ;;
    shaped)
        start_iperf3_server
        BANDWIDTH=("${SHAPED_BANDWIDTH[@]}")
        # iperf3 shows what TCP itself gets through the shaped link.
        alternate "4 MiB bandwidth, 1 Gbit link" shaped_ bw_bramble bw_iperf3
        ;;
    launch)
        LAUNCH_RANKS=${#HOSTS[@]}
        alternate "launch of hello on $LAUNCH_RANKS hosts" hosts_ launch_bramble launch_mpich
        ;;
    *) die "unknown testbed part $1" ;;
    esac
}

# --- The table --------------------------------------------------------------

# ROW: label | unit | bramble key | reference key or fixed number | reference
# name | lower/higher (which is better) | target ratio ("-": none)
ROWS_LOCAL=(
    "8 B latency, one host|us|local_latency_bramble|local_latency_mpich|MPICH|lower|0.8"
    "4 MiB bandwidth, one host|MB/s|local_bw_bramble|local_bw_mpich|MPICH|higher|1"
    "8 B allreduce, 2 ranks|us|local_allreduce8_bramble|local_allreduce8_mpich|MPICH|lower|1"
    "1 MiB allreduce, 2 ranks|us|local_allreduce1m_bramble|local_allreduce1m_mpich|MPICH|lower|1"
    "8 B allreduce, 4 ranks on 2 cores|us|local_allreduce8x4_bramble|local_allreduce8x4_mpich|MPICH|lower|0.01"
    "struct ping-pong: serde vs mpi4py pickle|us|local_serde_bramble|local_pickle_mpi4py|mpi4py|lower|0.25"
    "launch: hello, 4 ranks|ms|local_launch_bramble|local_launch_mpich|mpiexec|lower|0.5"
)
ROWS_TESTBED=(
    "8 B latency, across hosts|us|hosts_latency_bramble|hosts_latency_mpich|MPICH tcp|lower|1"
    "4 MiB bandwidth, across hosts|MB/s|hosts_bw_bramble|hosts_bw_mpich|MPICH tcp|higher|-"
    "4 MiB bandwidth, across hosts|MB/s|hosts_bw_bramble|hosts_bw_iperf3|iperf3|higher|0.95"
    "4 MiB bandwidth, 1 Gbit link|MB/s|shaped_bw_bramble|$LINE_RATE_MBPS|line rate|higher|0.95"
    "4 MiB bandwidth, 1 Gbit link|MB/s|shaped_bw_bramble|shaped_bw_iperf3|iperf3|higher|-"
    "launch: hello, 3 hosts|ms|hosts_launch_bramble|hosts_launch_mpich|mpiexec|lower|0.8"
)

result() {
    local value
    if [[ $1 =~ ^[0-9.]+$ ]]; then
        echo "$1"
        return
    fi
    value=$(awk -v key="$1" '$1 == key { value = $2 } END { print value }' "$RESULTS")
    [[ -n $value ]] || die "no result for $1"
    echo "$value"
}

print_table() {
    local markdown=$1 row label unit mine theirs who better target
    shift
    local format="%-42s %12s %-6s %12s %-10s %8s %8s %s\n"
    if ((markdown)); then
        echo "| case | bramble | reference | bramble/reference | target | met |"
        echo "| --- | ---: | ---: | ---: | --- | --- |"
    else
        # shellcheck disable=SC2059 # the format is ours
        printf "$format" case bramble unit reference "" ratio target met
    fi
    for row in "$@"; do
        IFS='|' read -r label unit mine theirs who better target <<<"$row"
        mine=$(result "$mine")
        theirs=$(result "$theirs")
        awk -v label="$label" -v unit="$unit" -v b="$mine" -v r="$theirs" -v who="$who" \
            -v better="$better" -v target="$target" -v markdown="$markdown" -v format="$format" '
            BEGIN {
                ratio = b / r
                # Enough digits to see which side of the target it is on.
                shown = sprintf(ratio < 0.1 ? "%.2g" : ratio < 10 ? "%.3f" : "%.1f", ratio)
                sign = better == "lower" ? "<=" : ">="
                if (target == "-") { goal = "-"; met = "info" }
                else {
                    goal = sign " " target
                    met = (better == "lower" ? ratio <= target : ratio >= target) ? "met" : "not met"
                }
                if (markdown)
                    printf "| %s | %.2f %s | %.2f %s (%s) | %s | %s | %s |\n", label, b, unit, r, unit, who, shown, goal, met
                else
                    printf format, label, sprintf("%.2f", b), unit, sprintf("%.2f", r), who, shown, goal, met
            }'
    done
}

machine() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- bramble: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
    echo "- kernel: $(uname -sr)"
    echo "- MPICH: $(mpichversion | awk '/Version:/ { print $NF }'), device $(mpichversion | awk '/Device:/ { print $NF }')"
    echo "- rustc: $(rustc --version)"
}

# --- Main -------------------------------------------------------------------

if [[ ${1:-} == --on-testbed ]]; then
    (($# == 4)) || die "usage: compare.sh --on-testbed PART RESULTS ROUNDS"
    RESULTS=$3
    ROUNDS=$4
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    testbed_cases "$2"
    exit 0
fi

ROUNDS=5
TESTBED=1
MARKDOWN=0
for arg in "$@"; do
    case $arg in
    --quick) ROUNDS=3 ;;
    --local-only) TESTBED=0 ;;
    --markdown) MARKDOWN=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $arg (see --help)" ;;
    esac
done

# PROGRAM HOW: fails saying HOW to install PROGRAM when it is missing.
need() {
    command -v "$1" >/dev/null || die "$1 not found: $2"
}
need cargo "install Rust with rustup"
need mpicc "apt-get install libmpich-dev"
need mpiexec "apt-get install mpich"
need mpichversion "apt-get install mpich"
need hyperfine "apt-get install hyperfine"
need jq "apt-get install jq"
need python3 "apt-get install python3"
python3 -c 'import mpi4py' 2>/dev/null || die "mpi4py not importable: pip install mpi4py (built against MPICH)"
if ((TESTBED)); then
    need iperf3 "apt-get install iperf3"
    ((EUID == 0)) || die "the testbed cases need root (namespaces); run as root or pass --local-only"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results"
: >"$RESULTS"

note "building bramble and its examples (cargo build --release --bins --examples)"
# The workspace's default members include tests/testbed, so this builds
# bench_hosts too.
cargo build --release --bins --examples --quiet
note "building the C twins with mpicc into target/bench/"
mkdir -p "$C_BENCH"
for program in osu_latency osu_bw osu_allreduce; do
    mpicc -O2 -Wall -Wno-stringop-overflow -o "$C_BENCH/$program" "bench/c/$program.c"
done
mpicc -O2 -Wall -o "$C_BENCH/mpi_hello" tests/programs/mpi_hello.c

local_cases
ROWS=("${ROWS_LOCAL[@]}")
if ((TESTBED)); then
    BENCH_HOSTS="$EXAMPLES/bench_hosts"
    note "two testbed hosts"
    "$BENCH_HOSTS" --hosts 2 -- "$SELF" --on-testbed across "$RESULTS" "$ROUNDS"
    note "two testbed hosts, links shaped to 1 Gbit"
    "$BENCH_HOSTS" --hosts 2 --shape 1gbit -- "$SELF" --on-testbed shaped "$RESULTS" "$ROUNDS"
    note "three testbed hosts"
    "$BENCH_HOSTS" --hosts 3 -- "$SELF" --on-testbed launch "$RESULTS" "$ROUNDS"
    ROWS+=("${ROWS_TESTBED[@]}")
fi

if ((MARKDOWN)); then
    machine
    echo "- command: \`bench/compare.sh${*:+ $*}\` ($ROUNDS rounds, medians)"
    echo
fi
print_table "$MARKDOWN" "${ROWS[@]}"
