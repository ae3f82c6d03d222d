//! End-to-end tests of the communication library: random sequences of
//! point-to-point and collective operations on 2–8 ranks, each result checked
//! against a sequential model by the `check_collectives` example (see its
//! docs), plus the error cases of `check_errors`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{bramble, example, run};
use proptest::prelude::*;

const LIMIT: Duration = Duration::from_secs(120);
/// Number of step kinds in examples/check_collectives.rs (taken modulo there).
const KINDS: usize = 28;

fn check_collectives(size: usize, seed: u64, steps: &[String]) {
    check_collectives_over("auto", size, seed, steps);
}

/// As `check_collectives`, with ranks on this host talking over `transport`
/// (`BRAMBLE_TRANSPORT`: shared memory or loopback TCP).
fn check_collectives_over(transport: &str, size: usize, seed: u64, steps: &[String]) {
    let mut command = Command::new(bramble());
    command
        .env("BRAMBLE_TRANSPORT", transport)
        .args(["run", "-n", &size.to_string()])
        .arg(example("check_collectives"))
        .arg(seed.to_string())
        .args(steps);
    let result = run(command, LIMIT);
    result.assert_success();
    assert!(
        result
            .stdout
            .contains(&format!("ok: {} steps on {size} ranks", steps_count(steps))),
        "{}",
        result.stdout
    );
}

fn steps_count(steps: &[String]) -> usize {
    steps
        .iter()
        .map(|step| if step == "all" { KINDS } else { 1 })
        .sum()
}

#[test]
fn every_operation_matches_the_model_on_2_to_8_ranks() {
    for size in 2..=8 {
        check_collectives(size, size as u64, &["all".to_string()]);
    }
}

#[test]
fn large_slices_take_the_ring_algorithms() {
    // allreduce_slice (6), allgather_slice (18), reduce_scatter_slice (23)
    // above the 64 KiB threshold, on world (0) and a split communicator (2).
    let steps: Vec<String> = [
        "6.0.9000.0.0",
        "6.9.8500.1.2",
        "18.0.3000.0.0",
        "23.3.9000.0.3",
    ]
    .map(String::from)
    .to_vec();
    check_collectives(3, 7, &steps);
    check_collectives(8, 8, &steps);
}

#[test]
fn ring_blocks_large_enough_to_be_lent_do_not_deadlock() {
    // On 2 ranks every ring block is half the slice: far above the size from
    // which ranks on one host lend their buffers instead of copying them,
    // and both ranks lend at the same time.
    // Over TCP, lent payloads are written from where they are instead.
    let steps: Vec<String> = ["6.0.200000.0.0", "18.0.100000.0.1", "23.3.200000.0.0"]
        .map(String::from)
        .to_vec();
    check_collectives(2, 11, &steps);
    check_collectives(3, 12, &steps);
    check_collectives_over("tcp", 2, 13, &steps);
}

/// One step: `kind.op.len.root.comm`, as check_collectives parses it.
fn step() -> impl Strategy<Value = String> {
    (0..KINDS, 0..10usize, 0..12usize, 0..8usize, 0..4usize)
        .prop_map(|(kind, op, len, root, comm)| format!("{kind}.{op}.{len}.{root}.{comm}"))
}

proptest! {
    // Each case starts a job of up to 8 processes on a 2-core machine: few cases.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_match_the_model(
        size in 2..=8usize,
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..10),
    ) {
        check_collectives(size, seed, &steps);
    }
}

#[test]
fn misuse_is_an_error_never_a_panic_or_a_hang() {
    for size in [2, 3, 5, 8] {
        let mut command = Command::new(bramble());
        command
            .args(["run", "-n", &size.to_string()])
            .arg(example("check_errors"));
        let result = run(command, LIMIT);
        result.assert_success();
        for rank in 0..size {
            assert!(
                result
                    .stdout
                    .contains(&format!("rank {rank}: all error cases behaved")),
                "size {size}: {}",
                result.stdout
            );
        }
    }
}

#[test]
fn the_same_checks_pass_under_mpich_mpiexec() {
    let mut command = Command::new("mpiexec");
    command
        .args(["-n", "5"])
        .arg(example("check_collectives"))
        .args(["3", "all"]);
    let result = run(command, LIMIT);
    assert_eq!(
        result.code,
        Some(0),
        "under mpiexec (install MPICH, e.g. with scripts/test):\nstdout:\n{}\nstderr:\n{}",
        result.stdout,
        result.stderr
    );
    assert!(
        result
            .stdout
            .contains(&format!("ok: {KINDS} steps on 5 ranks")),
        "{}",
        result.stdout
    );
}
