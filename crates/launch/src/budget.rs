//! A cap on rank output waiting to be written.
//!
//! Output is read by relay threads and written by a slower consumer (the
//! terminal, or an SSH session over a Pi's network). Without a cap, a rank
//! printing faster than that would fill memory, and heartbeats and exit
//! reports would queue behind megabytes of output until a healthy node looked
//! lost. With it, the relay that is ahead waits, which in turn slows the rank
//! down through its pipe, while control messages keep flowing.

use std::sync::{Condvar, Mutex, PoisonError};

/// Bytes of output that may wait at once; relays wait for room beyond that.
pub struct OutputBudget {
    queued: Mutex<usize>,
    room: Condvar,
    limit: usize,
}

impl OutputBudget {
    pub fn new(limit: usize) -> OutputBudget {
        OutputBudget {
            queued: Mutex::new(0),
            room: Condvar::new(),
            limit,
        }
    }

    /// Waits until `bytes` more fit, then counts them as queued. A chunk
    /// larger than the whole budget waits until nothing else is queued.
    pub fn take(&self, bytes: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        while *queued > 0 && *queued + bytes > self.limit {
            queued = self
                .room
                .wait(queued)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *queued += bytes;
    }

    /// `bytes` taken earlier have been written.
    pub fn give_back(&self, bytes: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        *queued = queued.saturating_sub(bytes);
        self.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_full_budget_waits_for_room() {
        let budget = Arc::new(OutputBudget::new(10));
        budget.take(8);
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || budget.take(5))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "took more than the budget");
        budget.give_back(8);
        waiter.join().unwrap();
    }

    #[test]
    fn an_oversized_chunk_passes_alone() {
        let budget = OutputBudget::new(10);
        budget.take(100);
        budget.give_back(100);
        budget.take(3);
    }
}
