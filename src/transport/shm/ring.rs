//! A one-way byte stream in shared memory: one producer process, one consumer.
//!
//! The ring is a byte stream like a socket, so frames of any size pass
//! through it: what does not fit is written as the consumer frees space.
//! Positions only grow (`u64` never wraps in practice); the byte at position
//! `p` lives at `p % capacity`. The producer publishes `tail` with release
//! ordering after writing the bytes, the consumer publishes `head` after
//! reading them, so each side sees whole writes of the other.
//!
//! Two flags let a side sleep in `poll(2)` instead of spinning: the consumer
//! raises `consumer_sleeping` before it sleeps, the producer raises
//! `producer_waiting` when the ring is full. Whoever changes the ring then
//! checks the other side's flag and, if it was raised, rings the doorbell (a
//! byte on the pair's control socket). Both sides store (their flag, or the
//! position) and then load (the other's position, or flag) with `SeqCst`, so
//! at least one of them sees the other: a wake-up is never lost.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes between the control words, so each side writes its own cache line
/// pair and the two processes do not fight over one line.
const LINE: usize = 128;
/// Bytes of control words in front of each direction's data.
pub(crate) const CONTROL_LEN: usize = 5 * LINE;

/// One direction of a pair, inside a shared mapping that outlives it. Each
/// process uses a ring in one role only; the producer caches where it last
/// saw the consumer, so writing rarely touches the consumer's cache line.
pub(crate) struct Ring {
    control: *mut u8,
    data: *mut u8,
    capacity: usize,
    /// Producer: `head` as last read (the consumer's own side needs no cache).
    seen_head: Cell<u64>,
}

// SAFETY: a Ring is only pointers into a mapping owned by the transport that
// owns the ring; it is used from one thread at a time.
unsafe impl Send for Ring {}

impl Ring {
    /// The ring whose control words start at `control` and whose `capacity`
    /// (a power of two) data bytes start at `data`.
    ///
    /// # Safety
    /// Both regions must stay mapped, shared with at most one other process
    /// playing the other role, for as long as the ring is used.
    pub(crate) unsafe fn new(control: *mut u8, data: *mut u8, capacity: usize) -> Ring {
        debug_assert!(capacity.is_power_of_two());
        let ring = Ring {
            control,
            data,
            capacity,
            seen_head: Cell::new(0),
        };
        // A ring may be taken over mid-stream (in tests); start from what is.
        ring.seen_head.set(ring.head().load(Ordering::Acquire));
        ring
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        // SAFETY: the control region holds five 8-aligned words LINE apart,
        // living as long as `self` (see `new`).
        unsafe { &*(self.control.add(index * LINE) as *const AtomicU64) }
    }

    fn tail(&self) -> &AtomicU64 {
        self.word(0)
    }

    fn head(&self) -> &AtomicU64 {
        self.word(1)
    }

    fn consumer_sleeping(&self) -> &AtomicU64 {
        self.word(2)
    }

    fn producer_waiting(&self) -> &AtomicU64 {
        self.word(3)
    }

    /// How many lent messages (see `shm::lent`) the consumer has finished reading.
    fn lent_done(&self) -> &AtomicU64 {
        self.word(4)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    // ---- producer side ----

    /// Bytes the producer may write now, looking at the consumer's position.
    pub(crate) fn free_space(&self) -> usize {
        self.seen_head.set(self.head().load(Ordering::SeqCst));
        self.cached_free_space()
    }

    fn cached_free_space(&self) -> usize {
        let tail = self.tail().load(Ordering::Relaxed);
        self.capacity - (tail - self.seen_head.get()) as usize
    }

    /// Whether the consumer has read everything written so far.
    pub(crate) fn all_consumed(&self) -> bool {
        let tail = self.tail().load(Ordering::Relaxed);
        tail == self.seen_head.get() || {
            self.seen_head.set(self.head().load(Ordering::Acquire));
            tail == self.seen_head.get()
        }
    }

    /// Writes as much of `parts` (in order) as fits, publishes it, and returns
    /// how many bytes were written.
    pub(crate) fn write(&self, parts: &[&[u8]]) -> usize {
        let wanted: usize = parts.iter().map(|p| p.len()).sum();
        let mut free = self.cached_free_space();
        if free < wanted {
            free = self.free_space();
        }
        let mut tail = self.tail().load(Ordering::Relaxed);
        let mut written = 0;
        for part in parts {
            let n = part.len().min(free);
            self.copy_in(tail, &part[..n]);
            tail += n as u64;
            free -= n;
            written += n;
            if n < part.len() {
                break;
            }
        }
        if written > 0 {
            // SeqCst, as the load of `consumer_sleeping` that follows: of
            // this store and the consumer's store to its flag, each side
            // sees the other's (see the module documentation).
            self.tail().store(tail, Ordering::SeqCst);
        }
        written
    }

    fn copy_in(&self, position: u64, bytes: &[u8]) {
        let start = position as usize & (self.capacity - 1);
        let first = bytes.len().min(self.capacity - start);
        // SAFETY: both ranges lie inside the data region, which the consumer
        // does not read until `tail` is published past them.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.add(start), first);
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr().add(first),
                self.data,
                bytes.len() - first,
            );
        }
    }

    /// After publishing data: whether the consumer sleeps and must be woken.
    /// Clears its flag, so one doorbell serves one sleep.
    pub(crate) fn consumer_needs_wakeup(&self) -> bool {
        self.consumer_sleeping().load(Ordering::SeqCst) != 0
            && self.consumer_sleeping().swap(0, Ordering::SeqCst) != 0
    }

    /// Announces that the producer will sleep until the consumer frees space
    /// or finishes a lent message. The caller then checks its condition again
    /// (`free_space`, `lent_finished`) and must not sleep if it changed.
    pub(crate) fn producer_arm(&self) {
        self.producer_waiting().store(1, Ordering::SeqCst);
    }

    pub(crate) fn producer_disarm(&self) {
        self.producer_waiting().store(0, Ordering::Relaxed);
    }

    /// How many lent messages the consumer has finished with.
    pub(crate) fn lent_finished(&self) -> u64 {
        self.lent_done().load(Ordering::SeqCst)
    }

    // ---- consumer side ----

    /// Bytes written but not yet consumed.
    pub(crate) fn available(&self) -> usize {
        let tail = self.tail().load(Ordering::Acquire);
        (tail - self.head().load(Ordering::Relaxed)) as usize
    }

    /// Copies `out.len()` bytes from `offset` bytes past the consumer's
    /// position, without consuming them. The caller checked `available`.
    pub(crate) fn peek(&self, offset: usize, out: &mut [u8]) {
        let position = self.head().load(Ordering::Relaxed) + offset as u64;
        let start = position as usize & (self.capacity - 1);
        let first = out.len().min(self.capacity - start);
        // SAFETY: the range was published by the producer (Acquire in
        // `available`) and it does not write there until `head` passes it.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data.add(start), out.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(
                self.data,
                out.as_mut_ptr().add(first),
                out.len() - first,
            );
        }
    }

    /// Gives `n` read bytes back to the producer.
    pub(crate) fn consume(&self, n: usize) {
        let head = self.head().load(Ordering::Relaxed) + n as u64;
        self.head().store(head, Ordering::SeqCst);
    }

    /// Tells the producer that one more lent message is finished with.
    pub(crate) fn finish_lent(&self) {
        self.lent_done().fetch_add(1, Ordering::SeqCst);
    }

    /// After consuming: whether the producer waits for space and must be woken.
    pub(crate) fn producer_needs_wakeup(&self) -> bool {
        self.producer_waiting().load(Ordering::SeqCst) != 0
            && self.producer_waiting().swap(0, Ordering::SeqCst) != 0
    }

    /// Announces that the consumer will sleep; false if data arrived
    /// meanwhile (then it must not sleep).
    pub(crate) fn consumer_arm(&self) -> bool {
        self.consumer_sleeping().store(1, Ordering::SeqCst);
        self.tail().load(Ordering::SeqCst) == self.head().load(Ordering::Relaxed)
    }

    pub(crate) fn consumer_disarm(&self) {
        self.consumer_sleeping().store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring over ordinary memory, both roles in one thread.
    struct Local {
        _memory: Vec<u64>,
        ring: Ring,
    }

    fn local(capacity: usize) -> Local {
        let mut memory = vec![0u64; (CONTROL_LEN + capacity) / 8];
        let base = memory.as_mut_ptr() as *mut u8;
        // SAFETY: `memory` outlives the ring inside the same struct.
        let ring = unsafe { Ring::new(base, base.add(CONTROL_LEN), capacity) };
        Local {
            _memory: memory,
            ring,
        }
    }

    #[test]
    fn bytes_come_out_in_order_across_the_wrap() {
        let Local { ring, .. } = &local(16);
        let mut next = 0u8;
        let mut expected = 0u8;
        for round in 0..50 {
            let chunk: Vec<u8> = (0..(round % 7 + 1))
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            assert_eq!(
                ring.write(&[&chunk[..2.min(chunk.len())], &chunk[2.min(chunk.len())..]]),
                chunk.len()
            );
            let mut out = vec![0u8; ring.available()];
            ring.peek(0, &mut out);
            ring.consume(out.len());
            for byte in out {
                expected = expected.wrapping_add(1);
                assert_eq!(byte, expected);
            }
        }
    }

    #[test]
    fn a_full_ring_takes_only_what_fits() {
        let Local { ring, .. } = &local(8);
        assert_eq!(ring.write(&[&[1; 5], &[2; 5]]), 8);
        assert_eq!(ring.free_space(), 0);
        ring.producer_arm();
        assert_eq!(ring.free_space(), 0, "full ring: the producer may sleep");
        ring.consume(3);
        assert!(ring.producer_needs_wakeup());
        assert!(!ring.producer_needs_wakeup(), "one doorbell per sleep");
        assert_eq!(ring.write(&[&[3; 4]]), 3);
    }

    #[test]
    fn a_sleeping_consumer_is_woken_once() {
        let Local { ring, .. } = &local(8);
        assert!(ring.consumer_arm());
        ring.write(&[&[1]]);
        assert!(ring.consumer_needs_wakeup());
        assert!(!ring.consumer_needs_wakeup());
        assert!(!ring.consumer_arm(), "data is waiting: do not sleep");
    }
}
