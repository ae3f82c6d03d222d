//! End-to-end tests of how ranks on one host talk: shared memory by
//! default, loopback TCP on request (`BRAMBLE_TRANSPORT=tcp`), the same
//! results either way, and nothing left behind in the file system.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    assert_no_process_left, bramble, example, marker, processes_with_marker, run,
    wait_with_deadline,
};

const LIMIT: Duration = Duration::from_secs(60);

fn shm_entries() -> BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs a 3-rank `wait_for_go` job with `BRAMBLE_TRANSPORT=transport` and,
/// while every rank is connected and waiting, tells for each rank whether
/// it maps a shared segment.
fn segments_of_a_waiting_job(transport: &str) -> Vec<bool> {
    let marker = marker();
    let mut child = Command::new(bramble())
        .args(["run", "-n", "3"])
        .arg(example("wait_for_go"))
        .env("BRAMBLE_TRANSPORT", transport)
        .env("BRAMBLE_TEST_MARKER", &marker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bramble run starts");
    let stdout = child.stdout.take().expect("stdout");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter(|line| line.contains("ready on"))
        .take(3)
        .count();
    assert_eq!(ready, 3, "the job did not get ready");
    let ranks: Vec<u32> = processes_with_marker(&marker)
        .into_iter()
        .filter(|pid| {
            // The ranks themselves, not the launcher naming them.
            std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                cmd.split('\0')
                    .next()
                    .is_some_and(|program| program.ends_with("wait_for_go"))
            })
        })
        .collect();
    let mapped = ranks
        .iter()
        .map(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/maps"))
                .is_ok_and(|maps| maps.contains("memfd:bramble-pair"))
        })
        .collect();
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"go\n").expect("say go");
    }
    let output = wait_with_deadline(child, LIMIT, "the waiting job");
    assert!(output.status.success(), "{output:?}");
    assert_no_process_left(&marker, Duration::from_secs(2));
    mapped
}

#[test]
fn ranks_on_one_host_share_memory_unless_told_to_use_tcp() {
    let shared = segments_of_a_waiting_job("auto");
    assert_eq!(shared, vec![true; 3], "every rank maps its pairs' segments");
    let tcp = segments_of_a_waiting_job("tcp");
    assert_eq!(
        tcp,
        vec![false; 3],
        "BRAMBLE_TRANSPORT=tcp keeps them on TCP"
    );
}

#[test]
fn both_transports_give_the_same_results() {
    for transport in ["auto", "tcp"] {
        let result = run(
            Command::new(bramble())
                .args(["run", "-n", "4"])
                .arg(example("check_collectives"))
                .args(["5", "all"])
                .env("BRAMBLE_TRANSPORT", transport),
            LIMIT,
        );
        result.assert_success();
        assert!(
            result.stdout.contains("ok:"),
            "{transport}: {}",
            result.stdout
        );
    }
}

#[test]
fn an_unknown_transport_is_a_clear_error() {
    let result = run(
        Command::new(bramble())
            .args(["run", "-n", "2"])
            .arg(example("hello"))
            .env("BRAMBLE_TRANSPORT", "carrier-pigeon"),
        LIMIT,
    );
    assert_ne!(result.code, Some(0));
    assert!(
        result.stderr.contains("BRAMBLE_TRANSPORT") && result.stderr.contains("use auto"),
        "{}",
        result.stderr
    );
}

#[test]
fn jobs_leave_nothing_in_dev_shm_even_when_killed() {
    let before = shm_entries();
    run(
        Command::new(bramble())
            .args(["run", "-n", "4"])
            .arg(example("ring")),
        LIMIT,
    )
    .assert_success();
    // A rank killed mid-job: the launcher ends the rest.
    let marker = marker();
    let started = Instant::now();
    let killed = run(
        Command::new(bramble())
            .args(["run", "-n", "3", "sh", "-c"])
            .arg(format!(
                "if [ \"$PMI_RANK\" = 1 ]; then kill -9 $$; fi; exec {}",
                example("wait_for_go").display()
            ))
            .env("BRAMBLE_TEST_MARKER", &marker),
        LIMIT,
    );
    assert_eq!(killed.code, Some(128 + 9), "{}", killed.stderr);
    assert!(started.elapsed() < LIMIT);
    assert_no_process_left(&marker, Duration::from_secs(2));
    assert_eq!(shm_entries(), before, "nothing new in /dev/shm");
}
