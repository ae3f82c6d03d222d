//! Large messages between ranks on one host, copied once.
//!
//! Streaming a large payload through a ring copies it twice (into the ring,
//! out of it). Instead, the sender *lends* it: it sends only the payload's
//! address, keeps the buffer untouched until told, and the receiver copies
//! it straight from the sender's memory into its destination with
//! `process_vm_readv(2)` (Linux cross-memory attach, allowed between
//! processes of the same user, as `ptrace` is). Once the receiver is done it
//! bumps a counter in the pair's segment, which completes the send.
//!
//! Reading another process's memory cannot corrupt either process: at worst,
//! if the sender broke its promise, the receiver gets an error (or the bytes
//! the buffer holds now), never undefined behaviour.

use std::io;
use std::rc::Rc;

use super::assist::{Transfer, ASSIST_THRESHOLD};
use super::link::Pair;

/// A message whose bytes are still in the sender's memory. Dropping it (read
/// or not) tells the sender it may reuse its buffer.
pub(crate) struct LentBytes {
    pair: Rc<Pair>,
    address: u64,
    len: usize,
}

impl LentBytes {
    pub(crate) fn new(pair: Rc<Pair>, address: u64, len: usize) -> LentBytes {
        LentBytes { pair, address, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies the whole message into `out`, which must be exactly `len` bytes.
    pub(crate) fn read_into(&self, out: &mut [u8]) -> Result<(), String> {
        if out.len() != self.len {
            return Err(format!(
                "internal: a {}-byte buffer for a {}-byte message",
                out.len(),
                self.len
            ));
        }
        // SAFETY: `out` is a valid, exclusively borrowed buffer of out.len() bytes.
        unsafe { self.read_to(out.as_mut_ptr()) }
    }

    /// The whole message, in a new buffer.
    pub(crate) fn read(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::with_capacity(self.len);
        // SAFETY: the spare capacity holds `len` writable bytes; they are all
        // written before `set_len` makes them part of the vector.
        unsafe {
            self.read_to(bytes.as_mut_ptr())?;
            bytes.set_len(self.len);
        }
        Ok(bytes)
    }

    /// # Safety
    /// `destination` must be valid for writes of `self.len` bytes.
    unsafe fn read_to(&self, destination: *mut u8) -> Result<(), String> {
        let pair = &self.pair;
        // Shared copies wait for the peer's chunks: only with a peer whose
        // end we would notice.
        if self.len >= ASSIST_THRESHOLD && pair.can_watch_peer() {
            let transfer = Transfer {
                sequence: pair.next_assist_job(),
                pid: pair.peer_pid,
                source: self.address,
                destination,
                len: self.len,
            };
            pair.incoming
                .assist
                .copy(transfer, || pair.wake_producer(), || pair.peer_alive())?;
        } else {
            let mut done = 0;
            while done < self.len {
                let copied = copy_with_process(
                    Way::FromPeer,
                    pair.peer_pid,
                    destination.add(done),
                    self.address + done as u64,
                    self.len - done,
                )
                .map_err(|error| describe(&error))?;
                if copied == 0 {
                    return Err("its lent message could not be read (no bytes copied)".to_string());
                }
                done += copied;
            }
        }
        // Alive after the copy means alive during it: the bytes are its own.
        if !pair.peer_alive() {
            return Err("it ended while its message was being read; did it crash?".to_string());
        }
        Ok(())
    }
}

impl std::fmt::Debug for LentBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LentBytes")
            .field("address", &self.address)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for LentBytes {
    fn drop(&mut self) {
        self.pair.finish_lent();
    }
}

/// Which way a cross-memory copy goes.
#[derive(Clone, Copy)]
pub(super) enum Way {
    /// `process_vm_readv`: from the peer's memory into ours.
    FromPeer,
    /// `process_vm_writev`: from our memory into the peer's.
    ToPeer,
}

/// One cross-memory copy of up to `len` bytes between `local` here and
/// `remote` in process `pid`; how many were copied.
///
/// # Safety
/// `local` must be valid for `len` bytes: writes when copying from the
/// peer, reads when copying to it.
pub(super) unsafe fn copy_with_process(
    way: Way,
    pid: libc::pid_t,
    local: *mut u8,
    remote: u64,
    len: usize,
) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: local as *mut libc::c_void,
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: remote as usize as *mut libc::c_void,
        iov_len: len,
    };
    let copied = match way {
        Way::FromPeer => libc::process_vm_readv(pid, &local, 1, &remote, 1, 0),
        Way::ToPeer => libc::process_vm_writev(pid, &local, 1, &remote, 1, 0),
    };
    if copied < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(copied as usize)
}

pub(super) fn describe(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::ESRCH) => "it ended before its message could be read; did it crash?".to_string(),
        Some(libc::EFAULT) => "the memory of its message went away before it could be read (was a send request leaked with mem::forget?)".to_string(),
        _ => format!("its message could not be read from its memory: {error}"),
    }
}

/// Whether this process may read process `pid`'s memory at `address`, where
/// the 8 bytes `expected` should be: tried once per pair at setup.
pub(crate) fn can_read(pid: libc::pid_t, address: u64, expected: [u8; 8]) -> bool {
    let mut found = [0u8; 8];
    // SAFETY: `found` is 8 writable bytes.
    let copied = unsafe { copy_with_process(Way::FromPeer, pid, found.as_mut_ptr(), address, 8) };
    matches!(copied, Ok(8)) && found == expected
}
