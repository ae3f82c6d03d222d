//! End-to-end tests of `bramble run` across hosts, on the test bed's three
//! hosts (network, UTS and mount namespaces, each with a real sshd): where
//! ranks go, MPICH and mpi4py programs across hosts, every way a job can fail
//! on a remote host, bad hostfiles, and strangers knocking on a rank's port.
//!
//! The launcher runs on `node0`, as for a user logged in there; `node1` and
//! `node2` are reached by ssh. Every job test checks that no process of the
//! job is left on any host.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bramble_testbed::{Host, Testbed};
use common::{
    assert_no_process_left, bramble, example, marker, mpi4py_demo, mpicc, processes_with_marker,
    run, Finished,
};

const LIMIT: Duration = Duration::from_secs(60);

fn testbed() -> Testbed {
    Testbed::builder()
        .hosts(3)
        .build()
        .unwrap_or_else(|e| panic!("cannot build the three-host test bed: {e}"))
}

/// `bramble run ARGS...` on node0.
fn bramble_run(bed: &Testbed, args: &[&str]) -> Command {
    let mut command = bed.host(0).command(bramble());
    command.arg("run").args(args);
    command
}

/// A hostfile giving each of the three hosts `slots` slots.
fn hostfile(bed: &Testbed, slots: usize) -> String {
    let entries: Vec<(&str, usize)> = bed.hosts().iter().map(|h| (h.name(), slots)).collect();
    let path = bed
        .hostfile(&entries)
        .unwrap_or_else(|e| panic!("cannot write a hostfile: {e}"));
    path.display().to_string()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

/// The greeting of `hello` (and of MPICH's and mpi4py's hello) from each
/// rank, given the host of every rank in order.
fn hello_lines(hosts_of_ranks: &[&str]) -> BTreeSet<String> {
    let size = hosts_of_ranks.len();
    hosts_of_ranks
        .iter()
        .enumerate()
        .map(|(rank, host)| format!("Hello, World! I am process {rank} of {size} on {host}."))
        .collect()
}

#[test]
fn hostfiles_host_lists_and_ppn_place_ranks_in_blocks() {
    let bed = testbed();
    let hello = example("hello");
    let hello = hello.to_str().expect("a UTF-8 path");

    // -n defaults to all slots: two per host.
    let file = hostfile(&bed, 2);
    let result = run(bramble_run(&bed, &["-f", &file, hello]), LIMIT);
    result.assert_success();
    assert_eq!(
        lines(&result.stdout),
        hello_lines(&["node0", "node0", "node1", "node1", "node2", "node2"])
    );

    // More ranks than slots wrap round, in blocks of each host's slots.
    let result = run(
        bramble_run(&bed, &["--hosts", "node0,node1:2,node2", "-n", "6", hello]),
        LIMIT,
    );
    result.assert_success();
    assert_eq!(
        lines(&result.stdout),
        hello_lines(&["node0", "node1", "node1", "node2", "node0", "node1"])
    );

    // mpiexec's spellings; -ppn overrides the hostfile's slots.
    let result = run(
        bramble_run(&bed, &["-hostfile", &file, "-ppn", "1", "-np", "3", hello]),
        LIMIT,
    );
    result.assert_success();
    assert_eq!(
        lines(&result.stdout),
        hello_lines(&["node0", "node1", "node2"])
    );

    // The launching host need not run any rank.
    let result = run(bramble_run(&bed, &["--hosts", "node1,node2", hello]), LIMIT);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(&["node1", "node2"]));

    // The launching host, by name or by address, is started without ssh
    // (here an ssh that always fails).
    let own_address = bed.host(0).address().to_string();
    for own in ["node0", own_address.as_str()] {
        let hosts = format!("{own}:2");
        let result = run(
            bramble_run(&bed, &["--ssh", "false", "--hosts", &hosts, hello]),
            LIMIT,
        );
        result.assert_success();
        assert_eq!(lines(&result.stdout), hello_lines(&["node0", "node0"]));
    }
}

#[test]
fn mpich_and_mpi4py_programs_run_across_hosts() {
    let bed = testbed();
    let file = hostfile(&bed, 1);
    let hosts = ["node0", "node1", "node2"];

    let c_hello = mpicc("mpi_hello");
    let result = run(bramble_run(&bed, &["-f", &file]).arg(&c_hello), LIMIT);
    let _ = std::fs::remove_file(&c_hello);
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(&hosts));

    let helloworld = mpi4py_demo("helloworld.py");
    let result = run(
        bramble_run(&bed, &["-f", &file, "python3"]).arg(&helloworld),
        LIMIT,
    );
    result.assert_success();
    assert_eq!(lines(&result.stdout), hello_lines(&hosts));

    // MPICH's own TCP traffic between hosts, set up through bramble's PMI.
    let c_sum = mpicc("mpi_sum");
    let result = run(
        bramble_run(&bed, &["-f", &file, "-n", "6"]).arg(&c_sum),
        LIMIT,
    );
    let _ = std::fs::remove_file(&c_sum);
    result.assert_success();
    let expected: BTreeSet<String> = (0..6)
        .map(|rank| format!("rank {rank} of 6: the ranks add up to 15"))
        .collect();
    assert_eq!(lines(&result.stdout), expected);
}

/// A job of two ranks per host, started and waited for until every rank has
/// said it is ready.
struct HeldJob {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stdout_seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    marker: String,
}

const HELD_RANKS: usize = 6;

/// Output lines of the flooding ranks of [`HeldJob::start_flooding`].
const FLOOD_LINE: &str = "y";

impl HeldJob {
    /// `wait_for_go`: every rank connected to the others and holding still.
    fn start(bed: &Testbed) -> HeldJob {
        HeldJob::start_program(bed, &[example("wait_for_go").as_os_str()])
    }

    /// Ranks that wait, except those on `host`, which soon write output as
    /// fast as they can.
    fn start_flooding(bed: &Testbed, host: &str) -> HeldJob {
        let script = format!(
            "echo rank $PMI_RANK ready; if [ \"$(hostname)\" = {host} ]; then sleep 0.5; exec yes {FLOOD_LINE}; fi; exec sleep 60"
        );
        HeldJob::start_program(bed, &["sh".as_ref(), "-c".as_ref(), script.as_ref()])
    }

    fn start_program(bed: &Testbed, program: &[&std::ffi::OsStr]) -> HeldJob {
        let file = hostfile(bed, 2);
        let marker = marker();
        let mut child = bramble_run(bed, &["-f", &file])
            .args(program)
            .env("BRAMBLE_TEST_MARKER", &marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bramble starts");
        let stdin = child.stdin.take();
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut job = HeldJob {
            child,
            stdin,
            stdout,
            stdout_seen: Vec::new(),
            stderr: Some(stderr),
            marker,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while job.stdout_seen.len() < HELD_RANKS {
            let left = deadline.saturating_duration_since(Instant::now());
            match job.stdout.recv_timeout(left) {
                Ok(line) if line.contains(" ready") => job.stdout_seen.push(line),
                Ok(_) => {}
                Err(_) => {
                    let _ = job.child.kill();
                    panic!(
                        "the ranks did not all get ready; they said {:?}",
                        job.stdout_seen
                    )
                }
            }
        }
        job
    }

    /// The pid of rank `rank`, found by its environment.
    fn pid_of(&self, rank: usize) -> u32 {
        let needle = format!("PMI_RANK={rank}");
        processes_with_marker(&self.marker)
            .into_iter()
            .find(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
                    .unwrap_or(false)
            })
            .unwrap_or_else(|| panic!("no process of rank {rank} found"))
    }

    /// Tells rank 0 to go on.
    fn go(&mut self) {
        let mut stdin = self.stdin.take().expect("stdin is still open");
        stdin.write_all(b"go\n").expect("write to bramble's stdin");
    }

    /// Waits for the launcher to end; `elapsed` counts from `since`.
    fn finish(mut self, since: Instant, limit: Duration) -> Finished {
        let deadline = since + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitpid works") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("bramble run did not end within {limit:?}");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = since.elapsed();
        drop(self.stdin.take());
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let mut stdout = self.stdout_seen.join("\n");
        for line in self.stdout.iter() {
            stdout.push('\n');
            stdout.push_str(&line);
        }
        Finished {
            code: status.code(),
            stdout,
            stderr,
            elapsed,
        }
    }
}

impl Drop for HeldJob {
    fn drop(&mut self) {
        // A failed assertion must not leave the launcher running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines `source` gives, but for those of flooding ranks.
fn lines_of(source: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { return };
            if line != FLOOD_LINE && sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// The network namespace of a process, as the kernel names it.
fn netns_of(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
}

/// Fails unless, within `limit`, every rank of the job (by its marker) and
/// every bramble process on the test bed's hosts has ended.
fn assert_nothing_left(bed: &Testbed, marker: &str, limit: Duration) {
    assert_no_process_left(marker, limit);
    let binary = bramble();
    let namespaces: Vec<_> = bed
        .hosts()
        .iter()
        .filter_map(|host| netns_of(host.pid() as u32))
        .collect();
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<u32> = all_pids()
            .into_iter()
            .filter(|&pid| {
                std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary)
                    && netns_of(pid).is_some_and(|ns| namespaces.contains(&ns))
            })
            .collect();
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("bramble processes are still running on the hosts after {limit:?}: {left:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Fails unless the job's ranks on host `index` end within `limit`.
fn assert_ranks_end_on(bed: &Testbed, index: usize, marker: &str, limit: Duration) {
    let host_ns = netns_of(bed.host(index).pid() as u32);
    let deadline = Instant::now() + limit;
    while processes_with_marker(marker)
        .iter()
        .any(|&pid| netns_of(pid) == host_ns)
    {
        assert!(
            Instant::now() < deadline,
            "ranks still run on the unplugged {} after {limit:?}",
            bed.host(index).name()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_rank_killed_on_a_remote_host_ends_the_job_within_a_second() {
    let bed = testbed();
    let job = HeldJob::start(&bed);
    let marker = job.marker.clone();
    let victim = job.pid_of(4);
    let killed_at = Instant::now();
    // SAFETY: kill only sends a signal, to a rank of our own job.
    unsafe {
        libc::kill(victim as libc::pid_t, libc::SIGKILL);
    }
    let result = job.finish(killed_at, LIMIT);
    result.assert_failed_with(
        137,
        &format!("bramble: rank 4 (pid {victim}) on node2 was killed by signal 9 (SIGKILL)"),
    );
    assert!(
        result.elapsed < Duration::from_secs(1),
        "the job took {:?} to end",
        result.elapsed
    );
    assert_eq!(
        result
            .stderr
            .lines()
            .filter(|l| l.starts_with("bramble:"))
            .count(),
        1,
        "one line says what happened:\n{}",
        result.stderr
    );
    assert_nothing_left(&bed, &marker, Duration::from_secs(2));
}

#[test]
fn a_host_that_loses_its_link_is_named_and_its_ranks_end() {
    let bed = testbed();
    let job = HeldJob::start(&bed);
    let marker = job.marker.clone();
    let unplugged_at = Instant::now();
    bed.host(2).link_down().expect("unplug node2");
    let result = job.finish(unplugged_at, Duration::from_secs(20));
    result.assert_failed_with(255, "lost contact with node2");
    assert!(
        result.elapsed < Duration::from_secs(10),
        "noticed only after {:?}",
        result.elapsed
    );
    // The ranks on node2 end themselves when they miss the launcher, even
    // though their ssh session is still open; then the cable goes back.
    assert_ranks_end_on(&bed, 2, &marker, Duration::from_secs(10));
    bed.host(2).link_up().expect("plug node2 back in");
    assert_nothing_left(&bed, &marker, Duration::from_secs(5));
}

#[test]
fn a_host_cut_off_while_its_ranks_flood_output_still_ends_them() {
    // The proxy on node2 blocks writing to its stalled ssh session; its
    // watchdog must end the ranks all the same.
    let bed = testbed();
    let job = HeldJob::start_flooding(&bed, "node2");
    let marker = job.marker.clone();
    let unplugged_at = Instant::now();
    bed.host(2).link_down().expect("unplug node2");
    let result = job.finish(unplugged_at, Duration::from_secs(20));
    result.assert_failed_with(255, "node2");
    assert_ranks_end_on(&bed, 2, &marker, Duration::from_secs(10));
    bed.host(2).link_up().expect("plug node2 back in");
    assert_nothing_left(&bed, &marker, Duration::from_secs(5));
}

#[test]
fn a_killed_launcher_leaves_no_process_on_any_host() {
    let bed = testbed();
    let mut job = HeldJob::start(&bed);
    job.child.kill().expect("SIGKILL the launcher");
    let _ = job.child.wait();
    assert_nothing_left(&bed, &job.marker, Duration::from_secs(5));
}

#[test]
fn ctrl_c_ends_every_rank_on_every_host() {
    let bed = testbed();
    let job = HeldJob::start(&bed);
    let marker = job.marker.clone();
    let interrupted_at = Instant::now();
    // SAFETY: kill only sends a signal, to the launcher we started.
    unsafe {
        libc::kill(job.child.id() as libc::pid_t, libc::SIGINT);
    }
    let result = job.finish(interrupted_at, LIMIT);
    result.assert_failed_with(130, "interrupted by SIGINT; ended all 6 ranks");
    assert!(
        result.elapsed < Duration::from_secs(2),
        "{:?}",
        result.elapsed
    );
    assert_nothing_left(&bed, &marker, Duration::from_secs(2));
}

#[test]
fn a_host_that_cannot_start_the_job_is_named_before_any_rank_starts() {
    let bed = Testbed::builder()
        .hosts(3)
        .empty_usr_local_bin(true)
        .build()
        .unwrap_or_else(|e| panic!("cannot build the three-host test bed: {e}"));
    let file = hostfile(&bed, 1);
    let marker = marker();
    let job = |mut command: Command| {
        command.env("BRAMBLE_TEST_MARKER", &marker);
        run(command, LIMIT)
    };
    let ranks_started = |result: &Finished| result.stdout.contains("started");

    // A program installed on two hosts out of three.
    for host in &bed.hosts()[..2] {
        host.write_file("/usr/local/bin/only-here", "#!/bin/sh\necho started\n")
            .and_then(|()| host.shell("chmod +x /usr/local/bin/only-here").map(drop))
            .expect("install a program on a host");
    }
    let result = job(bramble_run(&bed, &["-f", &file, "only-here"]));
    result.assert_failed_with(
        127,
        "bramble: cannot start the job on node2: only-here was not found in PATH",
    );
    assert!(!ranks_started(&result), "{}", result.stdout);

    // bramble itself installed on two hosts out of three, and launched from
    // there: node2 has it neither at the same path nor on its PATH.
    for host in &bed.hosts()[..2] {
        std::fs::copy(bramble(), host.dir().join("usr-local-bin/bramble"))
            .expect("install bramble on a host");
    }
    let mut command = bed.host(0).command("/usr/local/bin/bramble");
    command.args(["run", "-f", &file, "/bin/echo", "started"]);
    let result = job(command);
    result.assert_failed_with(
        127,
        "bramble: cannot start the job: node2: bramble is not installed on this host",
    );
    assert!(!ranks_started(&result), "{}", result.stdout);

    // A host that refuses our key.
    bed.host(1)
        .write_file("/root/.ssh/authorized_keys", "")
        .expect("revoke the key on node1");
    let result = job(bramble_run(&bed, &["-f", &file, "/bin/echo", "started"]));
    result.assert_failed_with(127, "node1: permission denied");
    assert!(!ranks_started(&result), "{}", result.stdout);

    // An unplugged host: ssh gives up after its connect timeout.
    bed.host(2).link_down().expect("unplug node2");
    let started = Instant::now();
    let result = job(bramble_run(
        &bed,
        &["--hosts", "node0,node2", "/bin/echo", "started"],
    ));
    result.assert_failed_with(127, "node2: no answer");
    assert!(!ranks_started(&result), "{}", result.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    bed.host(2).link_up().expect("plug node2 back in");

    assert_nothing_left(&bed, &marker, Duration::from_secs(2));
}

#[test]
fn bad_hostfiles_are_errors_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("bramble-hostfiles-{}", marker()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let bad = dir.join("hostfile");
    std::fs::write(&bad, "# the bramble\nnode0:2\n\nnode1:two\n").expect("write a hostfile");
    let bad = bad.display().to_string();
    let empty = dir.join("empty");
    std::fs::write(&empty, "# nobody\n\n").expect("write a hostfile");
    let empty = empty.display().to_string();
    let missing = dir.join("missing").display().to_string();

    let bramble_run = |args: &[&str]| {
        let mut command = Command::new(bramble());
        command.arg("run").args(args).arg("hostname");
        run(command, LIMIT)
    };
    bramble_run(&["-f", &bad]).assert_failed_with(2, &format!("{bad}:4:"));
    bramble_run(&["-hostfile", &bad]).assert_failed_with(2, "\"two\" is not a whole number");
    bramble_run(&["--hostfile", &empty]).assert_failed_with(2, "no hosts in the hostfile");
    bramble_run(&["-f", &missing]).assert_failed_with(2, &missing);
    bramble_run(&["--hosts", "node0,,node1"]).assert_failed_with(2, "--hosts:2:");
    bramble_run(&["-f", &bad, "--hosts", "node0"]).assert_failed_with(2, "not both");
    bramble_run(&["--ppn", "0"]).assert_failed_with(2, "--ppn");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The TCP port process `pid` listens on (the only listening socket a rank has).
fn listening_port(pid: u32) -> u16 {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the rank's file descriptors")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.display().to_string();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    // The table of the rank's network namespace; its own sockets by inode.
    let table =
        std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).expect("read the rank's TCP table");
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| {
            fields.len() > 9 && fields[3] == LISTEN && inodes.contains(&fields[9].to_string())
        })
        .and_then(|fields| fields[1].rsplit_once(':').map(|(_, port)| port.to_string()))
        .and_then(|port| u16::from_str_radix(&port, 16).ok())
        .unwrap_or_else(|| panic!("rank process {pid} has no listening TCP socket"))
}

/// Runs `visit` on a thread that has entered `host`'s network namespace, so
/// its connections come from that host.
fn from_host<T: Send>(host: &Host, visit: impl FnOnce() -> T + Send) -> T {
    let netns = format!("/proc/{}/ns/net", host.pid());
    thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = std::fs::File::open(&netns).expect("open the host's network namespace");
                use std::os::fd::AsRawFd;
                // SAFETY: setns on a namespace file we hold open; it moves only
                // this thread, which ends after the visit.
                let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(
                    entered,
                    0,
                    "cannot enter {netns}: {}",
                    std::io::Error::last_os_error()
                );
                visit()
            })
            .join()
            .expect("the visit does not panic")
    })
}

/// Connects to `address` and sends `greeting`; then, if `answer_len` is not
/// zero, reads that many bytes and sends `proof`. Returns once the rank has
/// closed the connection.
fn knock(address: SocketAddr, greeting: &[u8], answer_len: usize, proof: &[u8]) {
    let mut stream =
        TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("reach the rank");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream.write_all(greeting).expect("send a greeting");
    if answer_len > 0 {
        let mut answer = vec![0u8; answer_len];
        stream
            .read_exact(&mut answer)
            .expect("the rank answers a bramble greeting");
        stream.write_all(proof).expect("send a proof");
    }
    let mut rest = Vec::new();
    // The rank hangs up on us: end of stream (or a reset), not a timeout.
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert!(
            e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::TimedOut,
            "the rank kept a stranger's connection open: {e}"
        ),
    }
}

#[test]
fn strangers_on_a_ranks_port_are_refused_and_the_job_goes_on() {
    let bed = testbed();
    let mut job = HeldJob::start(&bed);
    let marker = job.marker.clone();
    // Rank 3 runs on node1; the strangers come from node2.
    let port = listening_port(job.pid_of(3));
    let rank_address = SocketAddr::new(bed.host(1).address().into(), port);
    from_host(bed.host(2), || {
        knock(rank_address, b"GET / HTTP/1.0\r\n\r\n", 0, &[]);
        // A bramble greeting (magic, rank 0, nonce), then a made-up proof:
        // someone who speaks the protocol but does not know the job secret.
        let mut greeting = b"BRAMBLE1".to_vec();
        greeting.extend_from_slice(&0u32.to_le_bytes());
        greeting.extend_from_slice(&[7u8; 16]);
        knock(rank_address, &greeting, 16 + 32, &[0u8; 32]);
    });
    job.go();
    let result = job.finish(Instant::now(), LIMIT);
    result.assert_success();
    assert!(
        result
            .stdout
            .contains("after \"go\", all 30 ordered pairs of the 6 ranks talked"),
        "{}",
        result.stdout
    );
    let stranger = bed.host(2).address().to_string();
    let refusals: Vec<&str> = result
        .stderr
        .lines()
        .filter(|line| line.contains(&format!("rank 3: refused a connection from {stranger}:")))
        .collect();
    assert_eq!(refusals.len(), 2, "{}", result.stderr);
    assert!(
        refusals[0].contains("not a bramble connection"),
        "{refusals:?}"
    );
    assert!(
        refusals[1].contains("does not know the job secret"),
        "{refusals:?}"
    );
    assert_nothing_left(&bed, &marker, Duration::from_secs(2));
}

#[test]
fn ranks_get_their_environment_and_working_directory_on_every_host() {
    let bed = testbed();
    let file = hostfile(&bed, 2);
    let result = run(
        bramble_run(
            &bed,
            &[
                "-f",
                &file,
                "--env",
                "A=1",
                "-genv",
                "B",
                "two",
                "--wdir",
                "/tmp",
                "sh",
                "-c",
                "echo $(hostname) $PMI_RANK $BRAMBLE_LOCAL_RANK $A $B $(pwd)",
            ],
        ),
        LIMIT,
    );
    result.assert_success();
    let expected: BTreeSet<String> = (0..6)
        .map(|rank| format!("node{} {rank} {} 1 two /tmp", rank / 2, rank % 2))
        .collect();
    assert_eq!(lines(&result.stdout), expected);
}
