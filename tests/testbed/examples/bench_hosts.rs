//! Runs one command on a throwaway testbed, for benchmarks across hosts
//! (bench/compare.sh): builds N hosts, runs CMD on host 0 as if logged in
//! there, streams its output, tears the testbed down (also after Ctrl-C,
//! SIGTERM or a failure) and exits with CMD's status.
//!
//! ```text
//! bench_hosts [--hosts N] [--slots K] [--shape RATE] -- CMD [ARGS...]
//! ```
//!
//! - `--hosts N`: hosts `node0` .. `node{N-1}` (default 2), keys installed
//!   and every name in every `/etc/hosts`, so `ssh nodeI` works anywhere;
//! - `--slots K`: slots per host in the hostfile (default 1);
//! - `--shape RATE`: every link limited to RATE with tbf (`tc` units, e.g.
//!   `1gbit`); default unlimited.
//!
//! CMD gets, besides our environment:
//!
//! - `TESTBED_HOSTFILE`: an MPICH hostfile of all hosts (`nodeI:K` lines),
//!   for `bramble run -f` and `mpiexec -f` alike;
//! - `TESTBED_HOSTS`: the host names, space-separated, `node0` first; start
//!   servers elsewhere with e.g. `ssh node1 iperf3 -s -D -1`.
//!
//! Run as root: `cargo run --release -p bramble-testbed --example bench_hosts -- --hosts 2 -- sh -c 'echo $TESTBED_HOSTFILE'`

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bramble_testbed::{KeyMode, Testbed};

/// How long CMD has to end after we pass it a signal, before the teardown
/// kills whatever is left in the hosts.
const GRACE: Duration = Duration::from_secs(5);

struct Options {
    hosts: usize,
    slots: usize,
    shape: Option<String>,
    command: Vec<String>,
}

fn usage() -> String {
    "usage: bench_hosts [--hosts N] [--slots K] [--shape RATE] -- CMD [ARGS...]".to_string()
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        hosts: 2,
        slots: 1,
        shape: None,
        command: Vec::new(),
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--" {
            options.command = args.collect();
            break;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {}", usage()))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag} takes a whole number, got {value:?}"))
        };
        match flag.as_str() {
            "--hosts" => options.hosts = number()?,
            "--slots" => options.slots = number()?.max(1),
            "--shape" => options.shape = Some(value.clone()),
            _ => return Err(format!("unknown option {flag:?}; {}", usage())),
        }
    }
    if options.command.is_empty() {
        return Err(format!("no command given; {}", usage()));
    }
    Ok(options)
}

/// Builds the testbed, runs the command on host 0 and returns its exit code
/// (128 + signal when a signal ended it). The testbed is dropped, and so torn
/// down, before this returns, whichever way it returns.
fn run(options: &Options, signal: &AtomicUsize) -> Result<u8, String> {
    let bed = Testbed::builder()
        .hosts(options.hosts)
        .keys(KeyMode::Installed)
        .etc_hosts(true)
        .shape(options.shape.as_deref())
        .build()
        .map_err(|e| format!("cannot build the testbed: {e}"))?;
    let entries: Vec<(&str, usize)> = bed
        .hosts()
        .iter()
        .map(|host| (host.name(), options.slots))
        .collect();
    let hostfile = bed.hostfile(&entries).map_err(|e| e.to_string())?;
    let names: Vec<&str> = bed.hosts().iter().map(|host| host.name()).collect();
    // A signal that came while the testbed was being built ends it here.
    let received = signal.load(Ordering::Relaxed);
    if received != 0 {
        return Ok(128 + received as u8);
    }

    let mut child = bed
        .host(0)
        .command(&options.command[0])
        .args(&options.command[1..])
        .env("TESTBED_HOSTFILE", &hostfile)
        .env("TESTBED_HOSTS", names.join(" "))
        .spawn()
        .map_err(|e| format!("cannot start {:?} on node0: {e}", options.command[0]))?;
    // nsenter execs CMD in place, so the child's pid is CMD's.
    let pid = child.id() as libc::pid_t;
    let mut forwarded_at: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for the command: {e}"))?
        {
            break status;
        }
        let received = signal.load(Ordering::Relaxed);
        if received != 0 && forwarded_at.is_none() {
            // SAFETY: kill(2) only sends a signal, to the child we started.
            unsafe { libc::kill(pid, received as libc::c_int) };
            forwarded_at = Some(Instant::now());
        }
        if forwarded_at.is_some_and(|at| at.elapsed() > GRACE) {
            eprintln!("bench_hosts: the command did not end {GRACE:?} after the signal; killing everything on the testbed");
            let _ = child.kill();
            let _ = child.wait();
            return Ok(128 + received as u8);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        (None, None) => 1,
    })
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_hosts: {message}");
            return ExitCode::from(2);
        }
    };
    // Remember a Ctrl-C, SIGTERM or SIGHUP instead of dying of it, so the
    // testbed's namespaces are always removed.
    let signal = Arc::new(AtomicUsize::new(0));
    for number in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) =
            signal_hook::flag::register_usize(number, Arc::clone(&signal), number as usize)
        {
            eprintln!("bench_hosts: cannot handle signal {number}: {e}");
            return ExitCode::from(2);
        }
    }
    match run(&options, &signal) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("bench_hosts: {message}");
            ExitCode::FAILURE
        }
    }
}
