//! End-to-end tests of `bramble run` on one host: the examples, MPICH and
//! mpi4py programs under bramble, bramble programs under MPICH's mpiexec, and
//! the job semantics (exit status, failures, Ctrl-C, output, stdin), each
//! checking that no process of the job is left behind.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    assert_no_process_left, bramble, example, marker, mpi4py_demo, mpicc, run, wait_with_deadline,
};

const LIMIT: Duration = Duration::from_secs(60);

fn host_name() -> String {
    let output = Command::new("hostname").output().expect("hostname runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn hello_lines(size: usize) -> BTreeSet<String> {
    let host = host_name();
    (0..size)
        .map(|r| format!("Hello, World! I am process {r} of {size} on {host}."))
        .collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

fn bramble_run(args: &[&str]) -> Command {
    let mut command = Command::new(bramble());
    command.arg("run").args(args);
    command
}

#[test]
fn hello_greets_from_every_rank() {
    for size in [1, 2, 4] {
        let hello = example("hello");
        let result = run(bramble_run(&["-n", &size.to_string()]).arg(&hello), LIMIT);
        result.assert_success();
        assert_eq!(lines(&result.stdout), hello_lines(size), "size {size}");
    }
}

#[test]
fn mpiexec_spellings_work() {
    let hello = example("hello");
    let result = run(bramble_run(&["-np", "3", "--"]).arg(&hello), LIMIT);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(3));
}

#[test]
fn ring_passes_the_token_around() {
    for size in [2, 3, 5] {
        let result = run(
            bramble_run(&["-n", &size.to_string()]).arg(example("ring")),
            LIMIT,
        );
        result.assert_success();
        let expected = size * (size - 1) / 2;
        assert!(
            result.stdout.contains(&format!(
                "token came back to rank 0 with value {expected} (expected {expected})"
            )),
            "size {size}: {}",
            result.stdout
        );
    }
}

#[test]
fn cpi_computes_pi() {
    for size in [1, 2, 4] {
        let result = run(
            bramble_run(&["-n", &size.to_string()])
                .arg(example("cpi"))
                .arg("100000"),
            LIMIT,
        );
        result.assert_success();
        let line = result
            .stdout
            .lines()
            .find(|l| l.starts_with("pi is approximately"))
            .unwrap_or_else(|| panic!("size {size}: no result line in {:?}", result.stdout));
        let value: f64 = line
            .split_whitespace()
            .nth(3)
            .and_then(|v| v.trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("unreadable line {line:?}"));
        assert!(
            (value - std::f64::consts::PI).abs() < 1e-8,
            "size {size}: {line}"
        );
    }
}

#[test]
fn cpi_rejects_bad_input_clearly() {
    let result = run(
        bramble_run(&["-n", "2"]).arg(example("cpi")).arg("many"),
        LIMIT,
    );
    assert_ne!(result.code, Some(0));
    assert!(
        result
            .stderr
            .contains("INTERVALS must be a positive integer"),
        "{}",
        result.stderr
    );
}

#[test]
fn runs_any_program() {
    let result = run(bramble_run(&["-n", "2", "hostname"]), LIMIT);
    result.assert_success();
    assert_eq!(result.stdout.lines().count(), 2);
}

#[test]
fn mpich_c_hello_runs_under_bramble() {
    let program = mpicc("mpi_hello");
    let result = run(bramble_run(&["-n", "4"]).arg(&program), LIMIT);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(4));
    let _ = std::fs::remove_file(program);
}

#[test]
fn mpi4py_helloworld_runs_under_bramble() {
    let demo = mpi4py_demo("helloworld.py");
    let result = run(bramble_run(&["-n", "3", "python3"]).arg(&demo), LIMIT);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(3));
}

#[test]
fn bramble_programs_run_under_mpich_mpiexec() {
    let result = run(
        Command::new("mpiexec")
            .args(["-n", "3"])
            .arg(example("hello")),
        LIMIT,
    );
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(3));
    let ring = run(
        Command::new("mpiexec")
            .args(["-n", "3"])
            .arg(example("ring")),
        LIMIT,
    );
    ring.assert_success();
    assert!(
        ring.stdout
            .contains("token came back to rank 0 with value 3"),
        "{}",
        ring.stdout
    );
}

#[test]
fn a_program_without_a_launcher_is_a_job_of_one() {
    let result = run(&mut Command::new(example("hello")), LIMIT);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(1));
}

/// Ranks that sleep, except rank `rank`, which runs `action` after a moment.
fn job_where_one_rank(rank: usize, action: &str, marker: &str) -> Command {
    let script =
        format!("if [ \"$PMI_RANK\" = {rank} ]; then sleep 0.3; {action}; fi; sleep 30 & wait");
    let mut command = bramble_run(&["-n", "3", "sh", "-c", &script]);
    command.env("BRAMBLE_TEST_MARKER", marker);
    command
}

#[test]
fn a_failing_rank_ends_the_job_with_its_code() {
    let marker = marker();
    let result = run(&mut job_where_one_rank(1, "exit 3", &marker), LIMIT);
    result
        .assert_failed_with(3, "rank 1 (pid")
        .assert_failed_with(3, "exited with code 3");
    assert!(
        result.elapsed < Duration::from_secs(10),
        "took {:?}",
        result.elapsed
    );
    assert_no_process_left(&marker, Duration::from_secs(2));
}

#[test]
fn a_rank_killed_by_a_signal_ends_the_job_with_128_plus_signal() {
    let marker = marker();
    let result = run(&mut job_where_one_rank(2, "kill -9 $$", &marker), LIMIT);
    result
        .assert_failed_with(137, "rank 2")
        .assert_failed_with(137, "killed by signal 9 (SIGKILL)");
    assert_no_process_left(&marker, Duration::from_secs(2));
}

#[test]
fn mpi_abort_ends_the_job_with_its_code() {
    let program = mpicc("mpi_abort");
    let marker = marker();
    let result = run(
        bramble_run(&["-n", "3"])
            .arg(&program)
            .env("BRAMBLE_TEST_MARKER", &marker),
        LIMIT,
    );
    result
        .assert_failed_with(7, "rank 1")
        .assert_failed_with(7, "aborted the job with code 7");
    assert_no_process_left(&marker, Duration::from_secs(2));
    let _ = std::fs::remove_file(program);
}

/// Starts a job of sleeping ranks, waits until all are running, then sends
/// `signal` to `bramble run`.
fn interrupt_job(signal: i32) -> (Option<i32>, String, String) {
    let marker = marker();
    let mut child = bramble_run(&["-n", "3", "sh", "-c", "echo started; sleep 30 & wait"])
        .env("BRAMBLE_TEST_MARKER", &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bramble starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    for _ in 0..3 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("ranks print");
        assert_eq!(line.trim(), "started");
    }
    // SAFETY: kill only sends a signal to the child we started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    child.stdout = None;
    let output = wait_with_deadline(child, Duration::from_secs(10), "interrupted bramble run");
    assert_no_process_left(&marker, Duration::from_secs(2));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        marker,
    )
}

#[test]
fn ctrl_c_ends_every_rank() {
    let (code, stderr, _) = interrupt_job(libc::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
}

#[test]
fn sigterm_ends_every_rank() {
    let (code, stderr, _) = interrupt_job(libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
}

#[test]
fn a_killed_launcher_leaves_no_rank_behind() {
    let marker = marker();
    let mut child = bramble_run(&["-n", "2", "sh", "-c", "echo started; sleep 30 & wait"])
        .env("BRAMBLE_TEST_MARKER", &marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("bramble starts");
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("ranks print");
    }
    child.kill().expect("SIGKILL the launcher");
    let _ = child.wait();
    assert_no_process_left(&marker, Duration::from_secs(5));
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let result = run(bramble_run(&["-n", "2", "./no-such-program"]), LIMIT);
    result.assert_failed_with(127, "no-such-program does not exist");
    let result = run(bramble_run(&["-n", "2", "no-such-program-anywhere"]), LIMIT);
    result.assert_failed_with(127, "not found in PATH");
}

#[test]
fn a_non_executable_program_is_a_clear_error() {
    let path = std::env::temp_dir().join(format!("bramble-not-executable-{}", marker()));
    std::fs::write(&path, "echo hi\n").expect("write a temp file");
    let result = run(bramble_run(&["-n", "2"]).arg(&path), LIMIT);
    let _ = std::fs::remove_file(&path);
    result.assert_failed_with(127, "not executable");
}

#[test]
fn bad_arguments_are_clear_errors() {
    run(bramble_run(&["-n", "0", "hostname"]), LIMIT).assert_failed_with(2, "at least one rank");
    run(bramble_run(&["--env", "NOEQUALS", "hostname"]), LIMIT)
        .assert_failed_with(2, "--env takes K=V");
    run(Command::new(bramble()).arg("run"), LIMIT).assert_failed_with(2, "PROGRAM");
}

#[test]
fn output_lines_of_ranks_never_interleave() {
    // Each rank writes many long lines in small pieces to both streams.
    let script = "i=0; while [ $i -lt 300 ]; do printf 'rank%s-' $PMI_RANK; printf 'x%.0s' $(seq 200); printf ' end\\n'; printf 'err%s\\n' $PMI_RANK >&2; i=$((i+1)); done";
    let result = run(bramble_run(&["-n", "4", "sh", "-c", script]), LIMIT);
    result.assert_success();
    let body = "x".repeat(200);
    let mut count = 0;
    for line in result.stdout.lines() {
        let ok = (0..4).any(|r| line == format!("rank{r}-{body} end"));
        assert!(ok, "a line was mixed: {line:?}");
        count += 1;
    }
    assert_eq!(count, 4 * 300);
    assert_eq!(
        result
            .stderr
            .lines()
            .filter(|l| l.starts_with("err"))
            .count(),
        4 * 300
    );
}

#[test]
fn label_prefixes_every_line_with_its_rank() {
    let result = run(
        bramble_run(&["-l", "-n", "3", "sh", "-c", "echo a; echo b"]),
        LIMIT,
    );
    result.assert_success();
    for rank in 0..3 {
        assert_eq!(
            result
                .stdout
                .lines()
                .filter(|l| *l == format!("[{rank}] a"))
                .count(),
            1
        );
        assert_eq!(
            result
                .stdout
                .lines()
                .filter(|l| *l == format!("[{rank}] b"))
                .count(),
            1
        );
    }
}

#[test]
fn stdin_goes_to_rank_0() {
    let mut child = bramble_run(&[
        "-n",
        "3",
        "sh",
        "-c",
        "if [ $PMI_RANK = 0 ]; then cat; else cat; echo rank$PMI_RANK-saw-eof; fi",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("bramble starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"line one\nline two\n")
        .expect("write stdin");
    drop(stdin);
    let output = wait_with_deadline(child, LIMIT, "stdin job");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.matches("line one").count(), 1, "{text}");
    assert_eq!(text.matches("line two").count(), 1, "{text}");
    assert!(
        text.contains("rank1-saw-eof") && text.contains("rank2-saw-eof"),
        "{text}"
    );
}

#[test]
fn environment_and_working_directory_reach_every_rank() {
    let result = run(
        bramble_run(&[
            "-n",
            "2",
            "--env",
            "A=1",
            "-genv",
            "B",
            "two",
            "--wdir",
            "/tmp",
            "sh",
            "-c",
            "echo $A $B $PMI_SIZE $BRAMBLE_LOCAL_RANK $(pwd)",
        ]),
        LIMIT,
    );
    result.assert_success();
    assert_eq!(
        lines(&result.stdout),
        ["1 two 2 0 /tmp", "1 two 2 1 /tmp"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
