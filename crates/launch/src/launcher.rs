//! The launcher: runs a job across its nodes and decides how it ended.
//!
//! It starts one proxy per node (see [`bootstrap`](crate::bootstrap)), checks
//! that every node can run the program before any rank starts, then relays:
//! output to the terminal, PMI barriers between nodes, stdin to rank 0. The
//! first rank that fails, a lost node or a Ctrl-C ends the whole job at once;
//! the launcher waits until every proxy has ended its ranks, prints one line
//! saying who failed and why, and exits with that rank's status.

use std::io::{self, Read};
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bramble_pmi::host_name;
use bramble_remote::Failure;

use crate::bootstrap::{is_local, start_proxy};
use crate::budget::OutputBudget;
use crate::output::Terminal;
use crate::plan::{map_ranks, JobSpec};
use crate::protocol::{
    read_message, write_message, FromProxy, NodePlan, ToProxy, HEARTBEAT_INTERVAL, SILENCE_LIMIT,
};
use crate::rank::signal_name;
/// How long proxies get to end their ranks before the launcher stops waiting.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// Bytes of rank output that may wait for the terminal; beyond that the
/// launcher stops reading output from the nodes until the terminal catches up.
const OUTPUT_BUDGET: usize = 4 << 20;
/// How many of a proxy's last stderr lines are kept to explain its end.
const STDERR_TAIL_LINES: usize = 5;
/// OpenSSH's exit status when ssh itself failed (rather than the remote command).
const SSH_FAILED: i32 = 255;
/// How long the launcher waits for a closed proxy's last stderr lines.
const STDERR_LINGER: Duration = Duration::from_secs(1);
/// How long a node may take to start its proxy and check the program.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit status when a node could not run its part (program missing, ssh failed).
const EXIT_CANNOT_START: i32 = 127;
/// Exit status when a node was lost mid-job.
const EXIT_NODE_LOST: i32 = 255;

/// Environment variables that describe the launcher's own session and must
/// not be copied into ranks.
const PRIVATE_ENV: &[&str] = &[
    "HOSTNAME",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "SSH_AUTH_SOCK",
    "DISPLAY",
    "PMI_FD",
    "PMI_RANK",
    "PMI_SIZE",
    "PMI_PORT",
    "PMI_ID",
];

enum Event {
    Proxy { node: usize, message: FromProxy },
    ProxyClosed { node: usize, error: Option<String> },
    ProxyStderr { node: usize, line: String },
    Stdin(Vec<u8>),
    StdinClosed,
    Signal(i32),
}

struct Node {
    host: String,
    ranks: Vec<usize>,
    child: Child,
    control: Option<ChildStdin>,
    hostname: Option<String>,
    ready: bool,
    done: bool,
    in_barrier: bool,
    last_heard: Instant,
    /// Set while the launcher holds off reading this node's messages because
    /// too much output waits for the terminal: silence then means nothing.
    output_held: Arc<AtomicBool>,
    /// Last lines the proxy (or ssh) wrote to stderr, to explain a failure.
    stderr_tail: Vec<String>,
}

impl Node {
    fn tell(&mut self, message: &ToProxy) {
        if let Some(control) = self.control.as_mut() {
            if write_message(control, message).is_err() {
                self.control = None;
            }
        }
    }

    /// Keeps the last few lines the proxy (or ssh) wrote to stderr.
    fn remember_stderr(&mut self, line: String) {
        if self.stderr_tail.len() == STDERR_TAIL_LINES {
            self.stderr_tail.remove(0);
        }
        self.stderr_tail.push(line);
    }

    /// The host's own name, followed by the name the user gave it when that
    /// differs (an address in a hostfile, say): "pi2 (10.0.0.12)".
    fn display_name(&self) -> String {
        match self.hostname.as_deref() {
            Some(own) if own == self.host || is_loopback_name(&self.host) => own.to_string(),
            Some(own) => format!("{own} ({})", self.host),
            None => self.host.clone(),
        }
    }
}

/// How the job ended: the status to exit with and the line explaining it.
#[derive(Debug)]
struct Ending {
    code: i32,
    message: String,
}

/// Runs the job; returns the exit status for `bramble run`.
pub fn run(spec: &JobSpec) -> Result<i32, String> {
    let layout = map_ranks(&spec.hosts, spec.ranks)?;
    let (events, inbox) = mpsc::channel();
    watch_signals(events.clone())?;
    let plans = node_plans(spec, &layout)?;
    let locality = which_are_local(&plans);
    let output_budget = Arc::new(OutputBudget::new(OUTPUT_BUDGET));

    let mut nodes = Vec::with_capacity(plans.len());
    for (index, (plan, local)) in plans.iter().zip(locality).enumerate() {
        let mut child = match start_proxy(&plan.host, local, &spec.ssh) {
            Ok(child) => child,
            Err(message) => {
                shut_down_all(&mut nodes);
                return Err(message);
            }
        };
        let control = child.stdin.take();
        let stderr_done = child
            .stderr
            .take()
            .map(|stderr| relay_stderr(index, stderr, events.clone()));
        let output_held = Arc::new(AtomicBool::new(false));
        if let Some(stdout) = child.stdout.take() {
            let relay = ProxyRelay {
                node: index,
                stderr_done,
                output_budget: Arc::clone(&output_budget),
                output_held: Arc::clone(&output_held),
                events: events.clone(),
            };
            relay.start(stdout);
        }
        nodes.push(Node {
            host: plan.host.clone(),
            ranks: plan.ranks.clone(),
            child,
            control,
            hostname: None,
            ready: false,
            done: false,
            in_barrier: false,
            last_heard: Instant::now(),
            output_held,
            stderr_tail: Vec::new(),
        });
    }
    for (node, plan) in nodes.iter_mut().zip(plans) {
        node.tell(&ToProxy::Prepare(Box::new(plan)));
    }

    let mut job = Job {
        nodes,
        terminal: Terminal::start(spec.label, output_budget),
        ending: None,
        ended_at: None,
        barrier_puts: Vec::new(),
    };
    if let Err(ending) = job.prepare(&inbox) {
        job.end(ending);
        job.wait_for_proxies(&inbox);
        let ending = job
            .ending
            .take()
            .map(|e| (e.code, e.message))
            .unwrap_or((1, String::new()));
        eprintln!("{}", ending.1);
        return Ok(ending.0);
    }
    for node in &mut job.nodes {
        node.tell(&ToProxy::Start);
    }
    forward_stdin(events);
    job.supervise(&inbox);
    job.terminal.finish();
    match job.ending {
        Some(ending) => {
            eprintln!("{}", ending.message);
            Ok(ending.code)
        }
        None => Ok(0),
    }
}

fn node_plans(spec: &JobSpec, layout: &[(String, Vec<usize>)]) -> Result<Vec<NodePlan>, String> {
    let wdir = match &spec.wdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?
            .display()
            .to_string(),
    };
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| !PRIVATE_ENV.contains(&key.as_str()) && !key.starts_with("BASH_FUNC_"))
        .collect();
    for (key, value) in &spec.env {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    let secret = job_secret()?;
    let kvsname = format!("kvs_{}_0", std::process::id());
    let mapping = bramble_pmi::process_mapping(&first_round(spec, layout));
    let preset = vec![
        ("PMI_process_mapping".to_string(), mapping),
        ("bramble-secret".to_string(), secret),
    ];
    Ok(layout
        .iter()
        .enumerate()
        .map(|(node, (host, ranks))| NodePlan {
            node,
            host: host.clone(),
            ranks: ranks.clone(),
            size: spec.ranks,
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: env.clone(),
            wdir: wdir.clone(),
            kvsname: kvsname.clone(),
            preset: preset.clone(),
        })
        .collect())
}

/// The names by which the launcher's own host is given when it was not named.
fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Whether each node is this host, asked for all at once: each answer may
/// wait for a name server.
fn which_are_local(plans: &[NodePlan]) -> Vec<bool> {
    let own_name = host_name();
    thread::scope(|scope| {
        let answers: Vec<_> = plans
            .iter()
            .map(|plan| scope.spawn(|| is_local(&plan.host, &own_name)))
            .collect();
        answers
            .into_iter()
            .map(|answer| answer.join().unwrap_or(false))
            .collect()
    })
}

/// Ranks per node in the first round of the block mapping: the form of
/// `PMI_process_mapping`, which MPICH repeats for the following rounds.
fn first_round(spec: &JobSpec, layout: &[(String, Vec<usize>)]) -> Vec<usize> {
    if spec.hosts.is_empty() {
        return layout.iter().map(|(_, ranks)| ranks.len()).collect();
    }
    let mut left = spec.ranks;
    let mut counts = Vec::new();
    for (host, _) in layout {
        let slots = spec
            .hosts
            .iter()
            .find(|h| &h.name == host)
            .map_or(1, |h| h.slots);
        let take = slots.min(left);
        counts.push(take);
        left -= take;
    }
    counts
}

/// 32 random bytes as hex: the secret every data connection of the job proves.
fn job_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| format!("no randomness for the job secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

struct Job {
    nodes: Vec<Node>,
    terminal: Terminal,
    ending: Option<Ending>,
    ended_at: Option<Instant>,
    barrier_puts: Vec<(String, String)>,
}

impl Job {
    /// Waits until every node has checked the program; the first failure ends the job.
    fn prepare(&mut self, inbox: &Receiver<Event>) -> Result<(), Ending> {
        let deadline = Instant::now() + PREPARE_TIMEOUT;
        let mut last_beat = Instant::now();
        while !self.nodes.iter().all(|n| n.ready) {
            // Nodes that are ready wait for the slow ones; keep their watchdogs fed.
            self.beat_if_due(&mut last_beat);
            let left = deadline.saturating_duration_since(Instant::now());
            let event = match inbox.recv_timeout(left.min(HEARTBEAT_INTERVAL)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => continue,
                Err(_) => {
                    let waiting: Vec<&str> = self
                        .nodes
                        .iter()
                        .filter(|n| !n.ready)
                        .map(|n| n.host.as_str())
                        .collect();
                    return Err(Ending {
                        code: EXIT_CANNOT_START,
                        message: format!(
                            "bramble: no answer from {} within {}s: is the host up and reachable by ssh?",
                            waiting.join(", "),
                            PREPARE_TIMEOUT.as_secs()
                        ),
                    });
                }
            };
            match event {
                Event::Proxy {
                    node,
                    message: FromProxy::Ready { hostname },
                } => {
                    self.nodes[node].ready = true;
                    self.nodes[node].hostname = Some(hostname);
                }
                Event::Proxy {
                    node,
                    message: FromProxy::Failed { message },
                } => {
                    return Err(Ending {
                        code: EXIT_CANNOT_START,
                        message: format!(
                            "bramble: cannot start the job on {}: {message}",
                            self.nodes[node].host
                        ),
                    });
                }
                Event::ProxyStderr { node, line } => self.nodes[node].remember_stderr(line),
                Event::ProxyClosed { node, error } => {
                    self.nodes[node].done = true;
                    let reason = self.explain_closed(node, error);
                    return Err(Ending {
                        code: EXIT_CANNOT_START,
                        message: format!("bramble: cannot start the job: {reason}"),
                    });
                }
                Event::Signal(signal) => {
                    return Err(Ending {
                        code: 128 + signal,
                        message: format!(
                            "bramble: interrupted by {} before the job started",
                            signal_name(signal)
                        ),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Why a node's proxy went away, as "HOST: what happened[; what to do]":
    /// ssh's own failures (exit status 255) are recognized and explained,
    /// anything else is told in the proxy's last stderr lines.
    fn explain_closed(&mut self, node: usize, error: Option<String>) -> String {
        let node = &mut self.nodes[node];
        let code = node.child.wait().ok().and_then(|status| status.code());
        let tail = node.stderr_tail.join(" / ");
        if code == Some(SSH_FAILED) {
            if let Some(failure) = Failure::classify(code, &tail) {
                return failure.explain(&node.host);
            }
        }
        let reason = if tail.is_empty() {
            error.unwrap_or_else(|| "its proxy ended unexpectedly".to_string())
        } else {
            tail
        };
        format!("{}: {reason}", node.display_name())
    }

    /// Relays events until every node is done.
    fn supervise(&mut self, inbox: &Receiver<Event>) {
        let mut last_beat = Instant::now();
        while !self.nodes.iter().all(|n| n.done) {
            if self.beat_if_due(&mut last_beat) {
                self.check_silence();
            }
            if self.ended_at.is_some_and(|t| t.elapsed() > SHUTDOWN_WAIT) {
                shut_down_all(&mut self.nodes);
                return;
            }
            match inbox.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        for node in &mut self.nodes {
            let _ = node.child.wait();
        }
    }

    /// Tells every live node the launcher is alive, once per interval;
    /// returns whether it did.
    fn beat_if_due(&mut self, last_beat: &mut Instant) -> bool {
        if last_beat.elapsed() < HEARTBEAT_INTERVAL {
            return false;
        }
        for node in self.nodes.iter_mut().filter(|n| !n.done) {
            node.tell(&ToProxy::Heartbeat);
        }
        *last_beat = Instant::now();
        true
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Proxy { node, message } => {
                self.nodes[node].last_heard = Instant::now();
                self.on_message(node, message);
            }
            Event::ProxyStderr { node, line } => {
                eprintln!("bramble: {}: {line}", self.nodes[node].host);
                self.nodes[node].remember_stderr(line);
            }
            Event::ProxyClosed { node, error } => {
                if !self.nodes[node].done {
                    self.nodes[node].done = true;
                    let reason = self.explain_closed(node, error);
                    self.end(Ending {
                        code: EXIT_NODE_LOST,
                        message: format!("bramble: lost {reason}; ended the job"),
                    });
                }
            }
            Event::Stdin(data) => self.nodes[0].tell(&ToProxy::Stdin(data)),
            Event::StdinClosed => self.nodes[0].tell(&ToProxy::StdinClosed),
            Event::Signal(signal) => {
                if self.ending.is_some() {
                    // A second Ctrl-C: stop waiting politely.
                    shut_down_all(&mut self.nodes);
                    self.nodes.iter_mut().for_each(|n| n.done = true);
                    return;
                }
                let ranks: usize = self.nodes.iter().map(|n| n.ranks.len()).sum();
                self.end(Ending {
                    code: 128 + signal,
                    message: format!(
                        "bramble: interrupted by {}; ended all {ranks} ranks",
                        signal_name(signal)
                    ),
                });
            }
        }
    }

    fn on_message(&mut self, node: usize, message: FromProxy) {
        match message {
            FromProxy::Output { rank, stream, data } => self.terminal.write(rank, stream, data),
            FromProxy::Exited { rank, pid, exit } => {
                if !exit.is_success() && self.ending.is_none() {
                    let host = self.nodes[node].display_name();
                    self.end(Ending {
                        code: exit.status_code(),
                        message: format!(
                            "bramble: rank {rank} (pid {pid}) on {host} {}",
                            exit.describe()
                        ),
                    });
                }
            }
            FromProxy::Abort {
                rank,
                code,
                message,
            } => {
                let host = self.nodes[node].display_name();
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                self.end(Ending {
                    code: if code == 0 { 1 } else { code },
                    message: format!(
                        "bramble: rank {rank} on {host} aborted the job with code {code}{detail}"
                    ),
                });
            }
            FromProxy::BarrierIn { puts } => {
                self.nodes[node].in_barrier = true;
                self.barrier_puts.extend(puts);
                if self.nodes.iter().all(|n| n.in_barrier) {
                    let puts = std::mem::take(&mut self.barrier_puts);
                    for node in &mut self.nodes {
                        node.in_barrier = false;
                        node.tell(&ToProxy::BarrierOut { puts: puts.clone() });
                    }
                }
            }
            FromProxy::Done => self.nodes[node].done = true,
            FromProxy::Failed { message } => {
                let host = self.nodes[node].display_name();
                self.end(Ending {
                    code: EXIT_CANNOT_START,
                    message: format!("bramble: {host}: {message}"),
                });
            }
            FromProxy::Heartbeat | FromProxy::Ready { .. } => {}
        }
    }

    /// A node silent for too long has lost its link: end the job, naming it.
    fn check_silence(&mut self) {
        for node in &mut self.nodes {
            if node.output_held.load(Ordering::Relaxed) {
                node.last_heard = Instant::now();
            }
        }
        let lost: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].done && self.nodes[i].last_heard.elapsed() > SILENCE_LIMIT)
            .collect();
        for index in lost {
            let node = &mut self.nodes[index];
            node.done = true;
            let _ = node.child.kill();
            let host = node.display_name();
            self.end(Ending {
                code: EXIT_NODE_LOST,
                message: format!(
                    "bramble: lost contact with {host}: silent for {}s (is it down, or its network unplugged?); ended the job, and the ranks there end themselves",
                    SILENCE_LIMIT.as_secs()
                ),
            });
        }
    }

    /// Records the first reason the job ends and tells every node to stop.
    fn end(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
            self.ended_at = Some(Instant::now());
        }
        for node in self.nodes.iter_mut().filter(|n| !n.done) {
            node.tell(&ToProxy::Kill);
        }
    }

    fn wait_for_proxies(&mut self, inbox: &Receiver<Event>) {
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        while !self.nodes.iter().all(|n| n.done) {
            let left = deadline.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(left) {
                Ok(Event::Proxy {
                    node,
                    message: FromProxy::Done,
                })
                | Ok(Event::ProxyClosed { node, .. }) => {
                    self.nodes[node].done = true;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        shut_down_all(&mut self.nodes);
    }
}

/// Kills proxy (or ssh) processes that are still there, and reaps them.
fn shut_down_all(nodes: &mut [Node]) {
    for node in nodes {
        node.control = None;
        if let Ok(None) = node.child.try_wait() {
            let _ = node.child.kill();
        }
        let _ = node.child.wait();
    }
}

/// The thread that reads one proxy's messages into the launcher's events.
struct ProxyRelay {
    node: usize,
    /// Fires once the proxy's stderr lines are all relayed.
    stderr_done: Option<Receiver<()>>,
    output_budget: Arc<OutputBudget>,
    output_held: Arc<AtomicBool>,
    events: Sender<Event>,
}

impl ProxyRelay {
    /// Relays until the proxy's stdout ends. Then it first lets the proxy's
    /// last stderr lines through, since they usually say why: ssh's
    /// "Connection refused", a shell's "not found".
    fn start(self, mut stdout: impl Read + Send + 'static) {
        thread::spawn(move || {
            let node = self.node;
            let error = loop {
                match read_message::<FromProxy>(&mut stdout) {
                    Ok(Some(message)) => {
                        if let FromProxy::Output { data, .. } = &message {
                            self.output_held.store(true, Ordering::Relaxed);
                            self.output_budget.take(data.len());
                            self.output_held.store(false, Ordering::Relaxed);
                        }
                        if self.events.send(Event::Proxy { node, message }).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e.to_string()),
                }
            };
            if let Some(done) = self.stderr_done {
                // Something the proxy started might hold stderr open: wait a little only.
                let _ = done.recv_timeout(STDERR_LINGER);
            }
            let _ = self.events.send(Event::ProxyClosed { node, error });
        });
    }
}

/// Relays the proxy's stderr line by line; the returned channel reports when
/// it has ended.
fn relay_stderr(
    node: usize,
    stderr: impl Read + Send + 'static,
    events: Sender<Event>,
) -> Receiver<()> {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        use std::io::BufRead;
        for line in io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if events.send(Event::ProxyStderr { node, line }).is_err() {
                break;
            }
        }
        let _ = done.send(());
    });
    finished
}

/// Copies our stdin to rank 0, like mpiexec.
fn forward_stdin(events: Sender<Event>) {
    thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => {
                    let _ = events.send(Event::StdinClosed);
                    return;
                }
                Ok(n) => {
                    if events.send(Event::Stdin(buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Turns SIGINT, SIGTERM and SIGHUP into events, so the job ends in order.
fn watch_signals(events: Sender<Event>) -> Result<(), String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    thread::spawn(move || {
        for signal in signals.forever() {
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}
