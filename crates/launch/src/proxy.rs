//! The per-node proxy (`bramble proxy`): runs one host's ranks for the launcher.
//!
//! It reads [`ToProxy`] messages on stdin and writes [`FromProxy`] on stdout.
//! It checks the program, starts the ranks when told, serves their PMI-1
//! requests, relays their output in whole lines and their exit statuses, and
//! ends them all when the launcher says so, when its stdin closes, or — through
//! the [`watchdog`](crate::watchdog) — when the launcher goes silent (a lost
//! link), so a cut-off host never keeps running ranks.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ChildStdin;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bramble_pmi::{host_name, JobFacts};

use crate::budget::OutputBudget;
use crate::kvs::{Action, Kvs};
use crate::output::LineSplitter;
use crate::protocol::{
    read_message, write_message, Exit, FromProxy, NodePlan, Stream, ToProxy, HEARTBEAT_INTERVAL,
};
use crate::rank::{self, check_program, exit_of, signal_group, TERM_GRACE};
use crate::watchdog::Watchdog;
/// Bytes of rank output the proxy holds while the launcher (or the link to
/// it) is slower than the ranks.
const OUTPUT_BUDGET: usize = 1 << 20;
/// After its process exits, how long a rank's output pipes may stay open (held
/// by something it started) before we stop waiting for them.
const OUTPUT_LINGER: Duration = Duration::from_secs(2);

enum Event {
    Upstream(ToProxy),
    UpstreamGone(String),
    Output {
        local: usize,
        stream: Stream,
        data: Vec<u8>,
    },
    OutputClosed {
        local: usize,
    },
    Pmi {
        local: usize,
        line: String,
    },
    PmiClosed,
    Exited {
        local: usize,
        exit: Exit,
    },
}

/// Runs the proxy on this process's stdin/stdout; returns the exit code.
pub fn serve() -> i32 {
    let (events, inbox) = mpsc::channel();
    let watchdog = match Watchdog::start(host_name()) {
        Ok(watchdog) => watchdog,
        Err(message) => {
            eprintln!("bramble proxy: {message}");
            return 1;
        }
    };
    spawn_upstream_reader(events.clone(), watchdog.clone());
    let mut out = io::stdout().lock();
    match run(&events, &inbox, &mut out, &watchdog) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("bramble proxy: {message}");
            1
        }
    }
}

fn spawn_upstream_reader(events: Sender<Event>, watchdog: Watchdog) {
    thread::spawn(move || {
        let mut input = io::stdin().lock();
        loop {
            match read_message::<ToProxy>(&mut input) {
                Ok(Some(message)) => {
                    watchdog.heard();
                    if events.send(Event::Upstream(message)).is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    let _ = events.send(Event::UpstreamGone(
                        "the launcher closed the connection".into(),
                    ));
                    return;
                }
                Err(e) => {
                    let _ = events.send(Event::UpstreamGone(format!(
                        "bad message from the launcher: {e}"
                    )));
                    return;
                }
            }
        }
    });
}

fn send(out: &mut impl Write, message: &FromProxy) -> Result<(), String> {
    write_message(out, message).map_err(|e| format!("cannot write to the launcher: {e}"))
}

/// The state of one running rank.
struct Running {
    pid: u32,
    pmi: UnixStream,
    stdin: Option<ChildStdin>,
    exited: bool,
    open_streams: usize,
}

fn run(
    events: &Sender<Event>,
    inbox: &Receiver<Event>,
    out: &mut impl Write,
    watchdog: &Watchdog,
) -> Result<(), String> {
    let plan = match inbox.recv() {
        Ok(Event::Upstream(ToProxy::Prepare(plan))) => *plan,
        Ok(Event::UpstreamGone(reason)) => return Err(reason),
        _ => return Err("the launcher did not start with a plan".to_string()),
    };
    let program = match check_program(&plan) {
        Ok(program) => program,
        Err(message) => return send(out, &FromProxy::Failed { message }),
    };
    send(
        out,
        &FromProxy::Ready {
            hostname: host_name(),
        },
    )?;
    loop {
        match inbox.recv() {
            Ok(Event::Upstream(ToProxy::Start)) => break,
            Ok(Event::Upstream(ToProxy::Heartbeat | ToProxy::Stdin(_) | ToProxy::StdinClosed)) => {}
            // Told to stop, or the launcher is gone, before any rank started.
            _ => return Ok(()),
        }
    }
    Node::start(&plan, &program, events, out, watchdog)?.run(&plan, inbox, out)
}

struct Node {
    ranks: Vec<Running>,
    /// Whether the launcher can still hear us; once it is gone we only clean up.
    upstream_alive: bool,
    kvs: Kvs,
    ending_since: Option<Instant>,
    killed: bool,
    last_exit: Option<Instant>,
    watchdog: Watchdog,
    output_budget: Arc<OutputBudget>,
}

impl Node {
    fn start(
        plan: &NodePlan,
        program: &Path,
        events: &Sender<Event>,
        out: &mut impl Write,
        watchdog: &Watchdog,
    ) -> Result<Node, String> {
        let facts = JobFacts {
            kvsname: plan.kvsname.clone(),
            size: plan.size,
        };
        let mut node = Node {
            ranks: Vec::new(),
            upstream_alive: true,
            kvs: Kvs::new(facts, &plan.preset, plan.ranks.len()),
            ending_since: None,
            killed: false,
            last_exit: None,
            watchdog: watchdog.clone(),
            output_budget: Arc::new(OutputBudget::new(OUTPUT_BUDGET)),
        };
        for local in 0..plan.ranks.len() {
            if let Err(message) = node.start_rank(plan, program, local, events) {
                node.terminate(libc::SIGKILL);
                send(out, &FromProxy::Failed { message })?;
                return Err("could not start every rank".to_string());
            }
        }
        Ok(node)
    }

    fn start_rank(
        &mut self,
        plan: &NodePlan,
        program: &Path,
        local: usize,
        events: &Sender<Event>,
    ) -> Result<(), String> {
        let rank = plan.ranks[local];
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| format!("cannot create a PMI socket: {e}"))?;
        let started = rank::spawn(plan, program, local, theirs.into())
            .map_err(|e| format!("cannot start {} for rank {rank}: {e}", plan.program))?;
        let mut child = started.child;
        let pid = child.id();
        self.watchdog.guard(pid);
        let stdin = child.stdin.take();
        if let Some(stdout) = child.stdout.take() {
            let budget = Arc::clone(&self.output_budget);
            relay_output(local, Stream::Stdout, stdout, budget, events.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            let budget = Arc::clone(&self.output_budget);
            relay_output(local, Stream::Stderr, stderr, budget, events.clone());
        }
        let pmi_reader = ours
            .try_clone()
            .map_err(|e| format!("cannot share the PMI socket: {e}"))?;
        relay_pmi(local, pmi_reader, events.clone());
        let waiter = events.clone();
        thread::spawn(move || {
            let exit = match child.wait() {
                Ok(status) => exit_of(status),
                Err(_) => Exit::Code(1),
            };
            let _ = waiter.send(Event::Exited { local, exit });
        });
        self.ranks.push(Running {
            pid,
            pmi: ours,
            stdin,
            exited: false,
            open_streams: 2,
        });
        Ok(())
    }

    fn run(
        mut self,
        plan: &NodePlan,
        inbox: &Receiver<Event>,
        out: &mut impl Write,
    ) -> Result<(), String> {
        let mut last_beat = Instant::now();
        loop {
            if self.finished() {
                return self.report(out, &FromProxy::Done);
            }
            if last_beat.elapsed() >= HEARTBEAT_INTERVAL {
                self.report(out, &FromProxy::Heartbeat)?;
                last_beat = Instant::now();
            }
            self.escalate();
            let event = match inbox.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Err("internal channel closed".into()),
            };
            match event {
                Event::Upstream(message) => self.on_upstream(message)?,
                Event::UpstreamGone(_) => self.lose_upstream(),
                Event::Output {
                    local,
                    stream,
                    data,
                } => {
                    let rank = plan.ranks[local];
                    let bytes = data.len();
                    self.report(out, &FromProxy::Output { rank, stream, data })?;
                    self.output_budget.give_back(bytes);
                }
                Event::OutputClosed { local } => {
                    self.ranks[local].open_streams -= 1;
                }
                Event::Pmi { local, line } => {
                    self.on_pmi(plan, local, &line, out)?;
                }
                Event::PmiClosed => {}
                Event::Exited { local, exit } => {
                    self.ranks[local].exited = true;
                    self.last_exit = Some(Instant::now());
                    let pid = self.ranks[local].pid;
                    // Whatever the rank started goes with it.
                    signal_group(pid, libc::SIGKILL);
                    self.watchdog.release(pid);
                    let rank = plan.ranks[local];
                    self.report(out, &FromProxy::Exited { rank, pid, exit })?;
                }
            }
        }
    }

    fn on_upstream(&mut self, message: ToProxy) -> Result<(), String> {
        match message {
            ToProxy::BarrierOut { puts } => {
                let reply = self.kvs.barrier_out(puts);
                for running in &mut self.ranks {
                    let _ = running.pmi.write_all(reply.as_bytes());
                }
            }
            ToProxy::Stdin(data) => {
                if let Some(stdin) = self.ranks.first_mut().and_then(|r| r.stdin.as_mut()) {
                    if stdin.write_all(&data).is_err() {
                        self.ranks[0].stdin = None;
                    }
                }
            }
            ToProxy::StdinClosed => {
                if let Some(first) = self.ranks.first_mut() {
                    first.stdin = None;
                }
            }
            ToProxy::Kill => self.begin_ending(),
            ToProxy::Heartbeat | ToProxy::Start | ToProxy::Prepare(_) => {}
        }
        Ok(())
    }

    fn on_pmi(
        &mut self,
        plan: &NodePlan,
        local: usize,
        line: &str,
        out: &mut impl Write,
    ) -> Result<(), String> {
        let rank = plan.ranks[local];
        match self.kvs.handle(local, line) {
            Ok(Action::Reply(text)) => {
                let _ = self.ranks[local].pmi.write_all(text.as_bytes());
            }
            Ok(Action::BarrierIn(puts)) => self.report(out, &FromProxy::BarrierIn { puts })?,
            Ok(Action::Abort { code, message }) => self.report(
                out,
                &FromProxy::Abort {
                    rank,
                    code,
                    message,
                },
            )?,
            Ok(Action::Wait) => {}
            Err(reason) => {
                eprintln!(
                    "bramble proxy on {}: rank {rank} sent a bad PMI request: {reason}",
                    plan.host
                );
                let _ = self.ranks[local]
                    .pmi
                    .write_all(b"cmd=error rc=-1 msg=malformed_request\n");
            }
        }
        Ok(())
    }

    /// Sends `message` to the launcher, unless it is gone.
    fn report(&self, out: &mut impl Write, message: &FromProxy) -> Result<(), String> {
        if self.upstream_alive {
            send(out, message)
        } else {
            Ok(())
        }
    }

    /// The launcher is gone: end the ranks, we cannot report to anyone.
    fn lose_upstream(&mut self) {
        self.upstream_alive = false;
        self.begin_ending();
    }

    fn begin_ending(&mut self) {
        if self.ending_since.is_none() {
            self.ending_since = Some(Instant::now());
            self.terminate(libc::SIGTERM);
        }
    }

    /// SIGKILL whatever ignored SIGTERM for too long.
    fn escalate(&mut self) {
        if let Some(since) = self.ending_since {
            if !self.killed && since.elapsed() >= TERM_GRACE {
                self.killed = true;
                self.terminate(libc::SIGKILL);
            }
        }
    }

    fn terminate(&self, signal: i32) {
        for running in self.ranks.iter().filter(|r| !r.exited) {
            signal_group(running.pid, signal);
        }
    }

    fn finished(&self) -> bool {
        if !self.ranks.iter().all(|r| r.exited) {
            return false;
        }
        let output_done = self.ranks.iter().all(|r| r.open_streams == 0);
        output_done || self.last_exit.is_some_and(|t| t.elapsed() > OUTPUT_LINGER)
    }
}

/// Relays a rank's output stream in whole lines, within the output budget.
fn relay_output(
    local: usize,
    stream: Stream,
    mut source: impl Read + Send + 'static,
    budget: Arc<OutputBudget>,
    events: Sender<Event>,
) {
    thread::spawn(move || {
        let mut splitter = LineSplitter::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match source.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(data) = splitter.push(&buffer[..n]) {
                        budget.take(data.len());
                        if events
                            .send(Event::Output {
                                local,
                                stream,
                                data,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
        if let Some(data) = splitter.finish() {
            budget.take(data.len());
            let _ = events.send(Event::Output {
                local,
                stream,
                data,
            });
        }
        let _ = events.send(Event::OutputClosed { local });
    });
}

fn relay_pmi(local: usize, socket: UnixStream, events: Sender<Event>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(socket);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if events.send(Event::Pmi { local, line }).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = events.send(Event::PmiClosed);
    });
}
