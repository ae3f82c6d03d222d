//! Shared helpers of the end-to-end tests: where the built binaries are, and
//! running a command with a deadline so a hang fails the test instead of CI.

#![allow(dead_code)] // each test file uses its own subset of these helpers

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>`, found from the running test binary (`target/<profile>/deps/...`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf()
}

/// The `bramble` binary built for this test run.
pub fn bramble() -> PathBuf {
    let path = target_dir().join("bramble");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so the binary is built",
        path.display()
    );
    path
}

/// An example program built for this test run.
pub fn example(name: &str) -> PathBuf {
    let path = target_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so examples are built",
        path.display()
    );
    path
}

/// A command's result, with its output as text.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// Panics with the whole output unless the command exited 0.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "command failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the command exited with `code` and said `needle` on stderr.
    pub fn assert_failed_with(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "wrong exit status; stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// Runs `command` to completion, killing it and failing the test after `limit`.
pub fn run(mut command: impl std::borrow::BorrowMut<Command>, limit: Duration) -> Finished {
    let command = command.borrow_mut();
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let output = wait_with_deadline(child, limit, &format!("{command:?}"));
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Waits for `child`, reading its pipes; kills it and panics after `limit`.
pub fn wait_with_deadline(mut child: Child, limit: Duration, what: &str) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid works") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// A unique marker to put in a job's environment, so the test can find every
/// process the job started, however deep.
pub fn marker() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// PIDs of live processes whose environment contains `BRAMBLE_TEST_MARKER=<marker>`.
pub fn processes_with_marker(marker: &str) -> Vec<u32> {
    let needle = format!("BRAMBLE_TEST_MARKER={marker}");
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let is_zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !is_zombie
            && environ
                .split(|&b| b == 0)
                .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Fails unless every process of the job marked `marker` is gone within `limit`.
pub fn assert_no_process_left(marker: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let left = processes_with_marker(marker);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("processes of the job are still running after {limit:?}: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds `tests/programs/<name>.c` with MPICH's `mpicc`; fails loudly if
/// MPICH is not installed (the test script installs it).
pub fn mpicc(name: &str) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let dir = target_dir().join("c-programs");
    std::fs::create_dir_all(&dir).expect("can create target/<profile>/c-programs");
    let output = dir.join(format!("{name}-{}", marker()));
    let status = Command::new("mpicc")
        .arg(&source)
        .arg("-o")
        .arg(&output)
        .status()
        .unwrap_or_else(|e| panic!("cannot run mpicc ({e}): install MPICH (apt-get install mpich libmpich-dev) or run scripts/test"));
    assert!(status.success(), "mpicc failed on {}", source.display());
    output
}

/// mpi4py's `demo/` directory from its source distribution, as prepared by
/// `scripts/test` in `BRAMBLE_MPI4PY_DEMO`.
pub fn mpi4py_demo(file: &str) -> PathBuf {
    let dir = std::env::var("BRAMBLE_MPI4PY_DEMO").unwrap_or_else(|_| {
        panic!("BRAMBLE_MPI4PY_DEMO is not set: run the tests with scripts/test, which fetches mpi4py's demos")
    });
    let path = PathBuf::from(dir).join(file);
    assert!(
        path.exists(),
        "{} is missing: rerun scripts/test to fetch mpi4py's demos",
        path.display()
    );
    path
}
