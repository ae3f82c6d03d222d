//! Two cores for one large copy.
//!
//! A rank that lent a large message has nothing to do but wait until the
//! receiver has copied it. So the receiver posts the copy as a job in the
//! pair's segment, cut into chunks; both sides claim chunks until none is
//! left, the receiver reading with `process_vm_readv`, the sender writing
//! with `process_vm_writev` straight into the receiver's destination. The
//! receiver returns only once every chunk the sender claimed is done, so
//! the destination is never written after the receiver let go of it. A
//! sender that is busy elsewhere simply does not help.
//!
//! Every word carries the job's sequence number: a helper that looks late,
//! while the next job is being set up, finds a different number and stays
//! out.

use std::sync::atomic::{fence, AtomicU64, Ordering};

use super::lent::{copy_with_process, describe, Way};

/// Bytes of one direction's job block.
pub(crate) const ASSIST_LEN: usize = 128;
/// Messages from this size up are copied by both sides.
pub(crate) const ASSIST_THRESHOLD: usize = 1 << 20;
/// Bytes per chunk: large enough that claiming costs nothing, small enough
/// that the two sides finish at about the same time.
const CHUNK: usize = 256 * 1024;

/// Word indexes in the block.
const JOB: usize = 0; // sequence number of the open job, 0 when none
const CLAIMED: usize = 1; // sequence << 32 | chunks claimed so far
const HELPED: usize = 2; // sequence << 32 | chunks the helper finished
const FAILED: usize = 3; // sequence of a job a helper failed in
const SOURCE: usize = 4; // the lent payload, in the sender
const DESTINATION: usize = 5; // where it goes, in the receiver
const LEN: usize = 6;

/// One direction's job block, inside a shared mapping that outlives it.
pub(crate) struct Assist {
    base: *mut u8,
}

// SAFETY: a pointer into a mapping owned by the transport, used from one
// thread at a time.
unsafe impl Send for Assist {}

/// A copy of `len` bytes from `source` in process `pid` to `destination`
/// here, as shared job number `sequence`.
pub(crate) struct Transfer {
    pub sequence: u64,
    pub pid: libc::pid_t,
    pub source: u64,
    pub destination: *mut u8,
    pub len: usize,
}

/// A job as the helper read it.
struct Job {
    sequence: u64,
    source: u64,
    destination: u64,
    len: usize,
}

impl Assist {
    /// # Safety
    /// `base` must point to ASSIST_LEN bytes, 8-aligned, staying mapped and
    /// shared with at most one other process playing the other role.
    pub(crate) unsafe fn new(base: *mut u8) -> Assist {
        Assist { base }
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        // SAFETY: seven 8-aligned words inside the block (see `new`).
        unsafe { &*(self.base.add(index * 8) as *const AtomicU64) }
    }

    /// Takes the next chunk of job `sequence`, if one is left.
    fn claim(&self, sequence: u64, chunks: usize) -> Option<usize> {
        let claimed = self.word(CLAIMED);
        let mut current = claimed.load(Ordering::Acquire);
        loop {
            let index = (current & 0xffff_ffff) as usize;
            if current >> 32 != sequence || index >= chunks {
                return None;
            }
            match claimed.compare_exchange(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(index),
                Err(now) => current = now,
            }
        }
    }

    // ---- receiver side ----

    /// Makes `copy`, with the sender's help if it offers it; `wake` rings
    /// the sender's doorbell, `alive` tells whether it still exists.
    ///
    /// # Safety
    /// `copy.destination` must be valid for writes of `copy.len` bytes, and
    /// stays borrowed by this call: it returns only when no helper writes there.
    pub(crate) unsafe fn copy(
        &self,
        copy: Transfer,
        wake: impl Fn(),
        alive: impl Fn() -> bool,
    ) -> Result<(), String> {
        let Transfer {
            sequence,
            pid,
            source,
            destination,
            len,
        } = copy;
        let chunks = len.div_ceil(CHUNK);
        // The last job was closed (JOB = 0) before these fields change: a
        // helper reading them sees the change or a closed job (a seqlock).
        fence(Ordering::Release);
        self.word(SOURCE).store(source, Ordering::Relaxed);
        self.word(DESTINATION)
            .store(destination as u64, Ordering::Relaxed);
        self.word(LEN).store(len as u64, Ordering::Relaxed);
        self.word(CLAIMED).store(sequence << 32, Ordering::Relaxed);
        self.word(HELPED).store(sequence << 32, Ordering::Relaxed);
        self.word(JOB).store(sequence, Ordering::SeqCst);
        wake();

        let mut mine = 0;
        let mut failure = None;
        while let Some(chunk) = self.claim(sequence, chunks) {
            mine += 1;
            let (start, n) = span(chunk, len);
            if failure.is_none() {
                failure = copy_all(
                    |done| {
                        copy_with_process(
                            Way::FromPeer,
                            pid,
                            destination.add(start + done),
                            source + (start + done) as u64,
                            n - done,
                        )
                    },
                    n,
                )
                .err();
            }
        }
        // No helper starts now; wait for those that claimed a chunk.
        self.word(JOB).store(0, Ordering::SeqCst);
        let helped = (sequence << 32) | (chunks - mine) as u64;
        let mut rounds = 0u32;
        while self.word(HELPED).load(Ordering::Acquire) != helped {
            rounds = rounds.wrapping_add(1);
            if rounds % 1024 == 0 && !alive() {
                return Err("it ended while helping to copy its message; did it crash?".to_string());
            }
            std::hint::spin_loop();
        }
        if let Some(error) = failure {
            return Err(describe(&error));
        }
        if self.word(FAILED).load(Ordering::Acquire) == sequence {
            return Err("it could not write its message into this rank's memory".to_string());
        }
        Ok(())
    }

    // ---- sender side ----

    /// Copies chunks of the receiver's open job, if there is one, into the
    /// receiver `pid`; returns how many.
    pub(crate) fn help(&self, pid: libc::pid_t) -> usize {
        let Some(job) = self.open_job() else {
            return 0;
        };
        let chunks = job.len.div_ceil(CHUNK);
        let mut helped = 0;
        while let Some(chunk) = self.claim(job.sequence, chunks) {
            helped += 1;
            let (start, n) = span(chunk, job.len);
            // SAFETY: the source is our own lent payload, which stays
            // unchanged until the receiver has finished this job; the
            // destination is in the receiver, which waits for this chunk.
            let copied = copy_all(
                |done| unsafe {
                    copy_with_process(
                        Way::ToPeer,
                        pid,
                        (job.source + (start + done) as u64) as usize as *mut u8,
                        job.destination + (start + done) as u64,
                        n - done,
                    )
                },
                n,
            );
            if copied.is_err() {
                self.word(FAILED).store(job.sequence, Ordering::Release);
            }
            self.word(HELPED).fetch_add(1, Ordering::AcqRel);
        }
        helped
    }

    /// The open job, read consistently: its number is the same before and
    /// after reading its fields (the receiver closes a job before it
    /// writes the next one's fields).
    fn open_job(&self) -> Option<Job> {
        let sequence = self.word(JOB).load(Ordering::Acquire);
        if sequence == 0 {
            return None;
        }
        let job = Job {
            sequence,
            source: self.word(SOURCE).load(Ordering::Relaxed),
            destination: self.word(DESTINATION).load(Ordering::Relaxed),
            len: self.word(LEN).load(Ordering::Relaxed) as usize,
        };
        fence(Ordering::Acquire);
        (self.word(JOB).load(Ordering::Relaxed) == sequence).then_some(job)
    }
}

/// Offset and length of chunk `index` of a `len`-byte copy.
fn span(index: usize, len: usize) -> (usize, usize) {
    let start = index * CHUNK;
    (start, CHUNK.min(len - start))
}

/// Runs `step(done)` until `n` bytes are copied; each call copies some.
fn copy_all(
    mut step: impl FnMut(usize) -> std::io::Result<usize>,
    n: usize,
) -> std::io::Result<()> {
    let mut done = 0;
    while done < n {
        match step(done)? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            copied => done += copied,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// Both roles in one process (`process_vm_*` on ourselves), in two
    /// threads over one job block.
    #[test]
    fn both_sides_copy_and_the_result_is_whole() {
        let mut block = vec![0u64; ASSIST_LEN / 8];
        let base = block.as_mut_ptr() as usize;
        let pid = std::process::id() as libc::pid_t;
        let source: Vec<u8> = (0..64 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let mut destination = vec![0u8; source.len()];
        let stop = Arc::new(AtomicBool::new(false));

        let helper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // SAFETY: `block` outlives both threads (joined below).
                let assist = unsafe { Assist::new(base as *mut u8) };
                let mut helped = 0;
                while !stop.load(Ordering::Acquire) {
                    helped += assist.help(pid);
                }
                helped
            })
        };
        // SAFETY: as above; `destination` is borrowed for the whole call.
        let assist = unsafe { Assist::new(base as *mut u8) };
        // Give the helper time to be there when the job opens.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let copied = unsafe {
            assist.copy(
                Transfer {
                    sequence: 1,
                    pid,
                    source: source.as_ptr() as u64,
                    destination: destination.as_mut_ptr(),
                    len: source.len(),
                },
                || {},
                || true,
            )
        };
        stop.store(true, Ordering::Release);
        let helped = helper.join().expect("helper thread");
        assert_eq!(copied, Ok(()));
        assert!(destination == source, "the copy is whole and in place");
        assert!(helped > 0, "the helper copied some chunks");
        assert_eq!(assist.word(JOB).load(Ordering::Acquire), 0, "job closed");
        drop(block);
    }

    #[test]
    fn a_late_helper_finds_no_job() {
        let mut block = vec![0u64; ASSIST_LEN / 8];
        // SAFETY: `block` lives through the test.
        let assist = unsafe { Assist::new(block.as_mut_ptr() as *mut u8) };
        assert_eq!(assist.help(std::process::id() as libc::pid_t), 0);
    }
}
