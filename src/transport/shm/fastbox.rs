//! A one-frame mailbox beside each ring, for small messages in a hurry.
//!
//! Going through the ring, a message touches three cache lines the two
//! processes pass back and forth: the data, `tail` and `head`. The fastbox
//! holds one small frame and its length in one word in front of it, so a
//! ping-pong moves a single line each way (as MPICH's "fastbox" does).
//!
//! Order is kept by one rule on each side. The producer uses the fastbox
//! only when it is empty *and* everything it wrote to the ring has been
//! consumed, so a fastbox frame is always older than any unread ring frame.
//! The consumer looks at the fastbox before every ring frame it starts.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of one direction's fastbox: the length word, then the frame.
pub(crate) const FASTBOX_LEN: usize = 2048;
/// The largest frame (header and body) a fastbox holds.
const FRAME_CAPACITY: usize = FASTBOX_LEN - 8;

/// One direction's fastbox, inside a shared mapping that outlives it.
pub(crate) struct Fastbox {
    base: *mut u8,
}

// SAFETY: pointers into a mapping owned by the transport, used from one
// thread at a time.
unsafe impl Send for Fastbox {}

impl Fastbox {
    /// # Safety
    /// `base` must point to FASTBOX_LEN bytes, 8-aligned, staying mapped and
    /// shared with at most one other process playing the other role.
    pub(crate) unsafe fn new(base: *mut u8) -> Fastbox {
        Fastbox { base }
    }

    /// The frame's length when one is waiting, else 0. The producer sets it
    /// last, the consumer clears it after reading the frame.
    fn length(&self) -> &AtomicU64 {
        // SAFETY: the first 8-aligned word of the fastbox (see `new`).
        unsafe { &*(self.base as *const AtomicU64) }
    }

    // ---- producer side ----

    /// Whether a frame of `len` bytes fits, and the last one was taken.
    pub(crate) fn can_take(&self, len: usize) -> bool {
        len <= FRAME_CAPACITY && self.length().load(Ordering::Acquire) == 0
    }

    /// Puts one frame, given in parts; the caller checked `can_take`.
    pub(crate) fn put(&self, parts: &[&[u8]]) {
        let mut offset = 8;
        for part in parts {
            // SAFETY: the parts total at most FRAME_CAPACITY bytes (checked
            // in `can_take`), and the consumer does not read them until the
            // length is published below.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), self.base.add(offset), part.len());
            }
            offset += part.len();
        }
        // SeqCst, as the load of the consumer's sleeping flag that follows
        // (see `ring`): a sleeping consumer is always woken.
        self.length().store((offset - 8) as u64, Ordering::SeqCst);
    }

    // ---- consumer side ----

    /// The length of the waiting frame, if there is one; an error if the
    /// length word holds more than a fastbox can.
    pub(crate) fn waiting(&self) -> Result<Option<usize>, String> {
        match self.length().load(Ordering::Acquire) {
            0 => Ok(None),
            len if len as usize <= FRAME_CAPACITY => Ok(Some(len as usize)),
            len => Err(format!(
                "protocol violation: a fastbox frame of {len} bytes (at most {FRAME_CAPACITY} fit)"
            )),
        }
    }

    /// Whether a frame waits, checked with `SeqCst` before sleeping.
    pub(crate) fn is_empty_before_sleep(&self) -> bool {
        self.length().load(Ordering::SeqCst) == 0
    }

    /// Copies `out.len()` bytes of the waiting frame from `offset`.
    pub(crate) fn peek(&self, offset: usize, out: &mut [u8]) {
        debug_assert!(offset + out.len() <= FRAME_CAPACITY);
        // SAFETY: within the frame area; published by the producer (Acquire
        // in `waiting`), which does not write again until `release`.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(8 + offset), out.as_mut_ptr(), out.len());
        }
    }

    /// Gives the fastbox back to the producer.
    pub(crate) fn release(&self) {
        self.length().store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Vec<u64> {
        vec![0u64; FASTBOX_LEN / 8]
    }

    #[test]
    fn one_frame_at_a_time_and_whole() {
        let mut memory = memory();
        // SAFETY: `memory` outlives the fastbox, both roles in this thread.
        let fastbox = unsafe { Fastbox::new(memory.as_mut_ptr() as *mut u8) };
        assert_eq!(fastbox.waiting(), Ok(None));
        assert!(fastbox.can_take(FRAME_CAPACITY));
        assert!(!fastbox.can_take(FRAME_CAPACITY + 1), "too large for it");
        fastbox.put(&[b"head", b"body"]);
        assert!(!fastbox.can_take(1), "full until released");
        assert!(!fastbox.is_empty_before_sleep());
        assert_eq!(fastbox.waiting(), Ok(Some(8)));
        let mut out = [0u8; 8];
        fastbox.peek(0, &mut out);
        assert_eq!(&out, b"headbody");
        fastbox.release();
        assert!(fastbox.can_take(8));
    }

    #[test]
    fn an_impossible_length_is_an_error() {
        let mut memory = memory();
        memory[0] = (FASTBOX_LEN * 2) as u64;
        // SAFETY: as above.
        let fastbox = unsafe { Fastbox::new(memory.as_mut_ptr() as *mut u8) };
        assert!(fastbox.waiting().is_err());
    }
}
