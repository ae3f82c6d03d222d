//! Cross-check with MPICH: the same reductions, scans, all-to-all and
//! friends on fixed inputs, computed by mpi4py under MPICH's `mpiexec` and by
//! bramble under `bramble run`, must print the same numbers.
//! Needs MPICH and mpi4py (`scripts/test` installs them); fails if they are missing.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{bramble, example, run};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn bramble_and_mpi4py_compute_the_same_numbers() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/crosscheck/crosscheck.py");
    let mut mpi4py = Command::new("mpiexec");
    mpi4py.args(["-n", "4", "python3"]).arg(&script);
    let reference = run(mpi4py, LIMIT);
    assert_eq!(
        reference.code,
        Some(0),
        "mpiexec + mpi4py failed (install MPICH and mpi4py, e.g. with scripts/test):\n{}",
        reference.stderr
    );

    let mut ours = Command::new(bramble());
    ours.args(["run", "-n", "4"]).arg(example("crosscheck"));
    let result = run(ours, LIMIT);
    result.assert_success();

    assert!(
        reference.stdout.lines().count() > 30,
        "mpi4py printed too little:\n{}",
        reference.stdout
    );
    for (line, (theirs, ours)) in reference
        .stdout
        .lines()
        .zip(result.stdout.lines())
        .enumerate()
    {
        assert_eq!(ours, theirs, "line {line} differs");
    }
    assert_eq!(result.stdout, reference.stdout);
}
