//! Ends a proxy's ranks when the launcher falls silent.
//!
//! A host whose link goes down keeps its SSH session open for a long time:
//! nothing closes the proxy's stdin, and its writes to stdout may block once
//! the session's buffers fill. So the check runs on a thread of its own that
//! needs nothing from the proxy's main loop: it sees every message from the
//! launcher and knows every rank's process group, and when the launcher has
//! been silent for [`SILENCE_LIMIT`] it ends those groups and the proxy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::protocol::SILENCE_LIMIT;
use crate::rank::{signal_group, TERM_GRACE};

/// How often the watchdog looks at the clock.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// Exit status of a proxy that gave up on its launcher.
const EXIT_LAUNCHER_LOST: i32 = 1;

struct Shared {
    since: Instant,
    /// Milliseconds after `since` of the last message from the launcher.
    last_heard_ms: AtomicU64,
    /// Process groups of this node's ranks.
    groups: Mutex<Vec<u32>>,
}

/// A handle to the watchdog thread; clones share it.
#[derive(Clone)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// Starts watching; `host` names this node in the message it leaves.
    pub fn start(host: String) -> Result<Watchdog, String> {
        let shared = Arc::new(Shared {
            since: Instant::now(),
            last_heard_ms: AtomicU64::new(0),
            groups: Mutex::new(Vec::new()),
        });
        let watched = Arc::clone(&shared);
        thread::Builder::new()
            .name("bramble-watchdog".to_string())
            .spawn(move || watch(&watched, &host))
            .map_err(|e| format!("cannot start the watchdog thread: {e}"))?;
        Ok(Watchdog { shared })
    }

    /// Records that the launcher just spoke.
    pub fn heard(&self) {
        let now = self.shared.since.elapsed().as_millis();
        self.shared
            .last_heard_ms
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Puts a rank's process group (its pid) in the watchdog's care.
    pub fn guard(&self, pid: u32) {
        self.shared
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
    }

    /// Takes back a rank's process group once the rank has ended and its
    /// group was emptied, so a later process reusing the id is left alone.
    pub fn release(&self, pid: u32) {
        self.shared
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|&guarded| guarded != pid);
    }
}

fn watch(shared: &Shared, host: &str) {
    loop {
        thread::sleep(CHECK_EVERY);
        let last_heard = Duration::from_millis(shared.last_heard_ms.load(Ordering::Relaxed));
        if shared.since.elapsed().saturating_sub(last_heard) <= SILENCE_LIMIT {
            continue;
        }
        eprintln!(
            "bramble proxy on {host}: no word from the launcher for {}s; ending this node's ranks",
            SILENCE_LIMIT.as_secs()
        );
        let groups = shared
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for &pid in &groups {
            signal_group(pid, libc::SIGTERM);
        }
        thread::sleep(TERM_GRACE);
        for &pid in &groups {
            signal_group(pid, libc::SIGKILL);
        }
        // The main loop may be stuck writing to the dead link; nothing is
        // left for it to do, so leave without it.
        std::process::exit(EXIT_LAUNCHER_LOST);
    }
}
