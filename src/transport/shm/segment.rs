//! The shared mapping of one pair of ranks on the same host, holding a ring
//! each way.
//!
//! The lower rank creates it as an anonymous `memfd`, the higher one opens it
//! through `/proc/<pid>/fd/<fd>` (allowed for processes of the same user, as
//! for `ptrace`). Nothing is ever created in `/dev/shm` or elsewhere in the
//! file system, so a job killed in any way leaves nothing behind: the memory
//! goes away with the last process that maps it.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::assist::{Assist, ASSIST_LEN};
use super::fastbox::{Fastbox, FASTBOX_LEN};
use super::ring::{Ring, CONTROL_LEN};

/// Data bytes of each direction's ring.
pub(crate) const RING_CAPACITY: usize = 256 * 1024;
/// Control words of both directions and the probe word, rounded up to a page.
const CONTROL_AREA: usize = 4096;
/// Where the creator puts 8 random bytes for the opener to find with
/// `process_vm_readv`, to learn whether lending works between the two.
const PROBE_OFFSET: usize = 2 * CONTROL_LEN;
/// Where each direction's job block for shared large copies starts.
const ASSIST_OFFSET: usize = 2048;
/// The size of every pair's mapping: control words, a fastbox and a ring each way.
pub(crate) const SEGMENT_LEN: usize = CONTROL_AREA + 2 * FASTBOX_LEN + 2 * RING_CAPACITY;

/// One mapping, unmapped when dropped.
pub(crate) struct Segment {
    base: *mut u8,
}

// SAFETY: the mapping is plain memory owned by this value; the rings that
// point into it are used by one thread at a time.
unsafe impl Send for Segment {}

impl Segment {
    /// A fresh zeroed mapping and the descriptor the peer opens it by.
    pub(crate) fn create() -> io::Result<(Segment, OwnedFd)> {
        // SAFETY: the name is a valid C string; the result is checked.
        let raw = unsafe { libc::memfd_create(c"bramble-pair".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is a valid memfd.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), SEGMENT_LEN as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((Segment::map(&fd)?, fd))
    }

    /// Maps the segment that process `pid` created as descriptor `fd`.
    pub(crate) fn open(pid: u32, fd: i32) -> io::Result<Segment> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/fd/{fd}"))?;
        let len = file.metadata()?.len();
        if len != SEGMENT_LEN as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the shared segment is {len} bytes, expected {SEGMENT_LEN}"),
            ));
        }
        Segment::map(&OwnedFd::from(file))
    }

    fn map(fd: &OwnedFd) -> io::Result<Segment> {
        // SAFETY: mapping a descriptor we hold; the result is checked.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SEGMENT_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Segment {
            base: base as *mut u8,
        })
    }

    /// Where this process sees the probe word.
    pub(crate) fn probe_address(&self) -> u64 {
        self.base as u64 + PROBE_OFFSET as u64
    }

    pub(crate) fn probe(&self) -> [u8; 8] {
        let mut value = [0u8; 8];
        // SAFETY: the probe word lies inside the control area of the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(PROBE_OFFSET), value.as_mut_ptr(), 8)
        };
        value
    }

    pub(crate) fn set_probe(&self, value: [u8; 8]) {
        // SAFETY: as in `probe`; only the creator writes it, before offering.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), self.base.add(PROBE_OFFSET), 8) };
    }

    /// `(outgoing, incoming)` directions as seen by the creator (`creator`)
    /// or by the process that opened the segment.
    pub(crate) fn directions(&self, creator: bool) -> (OneWay, OneWay) {
        let direction = |index: usize| {
            // SAFETY: offsets stay inside the mapping (CONTROL_AREA holds
            // both control blocks, then come both fastboxes, then both
            // rings); what points into it lives no longer than `self`
            // inside the owning pair.
            unsafe {
                OneWay {
                    ring: Ring::new(
                        self.base.add(index * CONTROL_LEN),
                        self.base
                            .add(CONTROL_AREA + 2 * FASTBOX_LEN + index * RING_CAPACITY),
                        RING_CAPACITY,
                    ),
                    fastbox: Fastbox::new(self.base.add(CONTROL_AREA + index * FASTBOX_LEN)),
                    assist: Assist::new(self.base.add(ASSIST_OFFSET + index * ASSIST_LEN)),
                }
            }
        };
        // Direction 0 carries creator -> opener.
        if creator {
            (direction(0), direction(1))
        } else {
            (direction(1), direction(0))
        }
    }
}

/// One direction of a pair: its ring, its fastbox, and its job block for
/// large copies.
pub(crate) struct OneWay {
    pub ring: Ring,
    pub fastbox: Fastbox,
    pub assist: Assist,
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: `base` is our mapping of SEGMENT_LEN bytes; no ring into it
        // is used after the owning link drops it.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, SEGMENT_LEN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_one_side_writes_the_other_reads() {
        let (creator, fd) = Segment::create().expect("memfd");
        let opener = Segment::open(std::process::id(), fd.as_raw_fd()).expect("open via /proc");
        let (to_opener, _) = creator.directions(true);
        let (_, from_creator) = opener.directions(false);
        assert_eq!(to_opener.ring.write(&[b"hello"]), 5);
        let mut out = [0u8; 5];
        from_creator.ring.peek(0, &mut out);
        assert_eq!(&out, b"hello");
    }

    #[test]
    fn a_descriptor_that_is_not_a_segment_is_refused() {
        let file = std::fs::File::open("/proc/self/status").expect("a file");
        let error = Segment::open(std::process::id(), file.as_raw_fd()).err();
        assert!(error.is_some(), "a wrong-sized file must not be mapped");
    }
}
