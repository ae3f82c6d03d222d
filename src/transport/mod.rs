//! The one internal interface every way of moving bytes between ranks implements.
//!
//! The communicator API (`Communicator`, point-to-point, collectives) never
//! sees a socket or a shared-memory ring: it hands whole frames to the
//! progress engine, which routes each peer to exactly one transport. A
//! transport must deliver the frames between one pair in the order they were
//! sent, without loss or duplication.

pub(crate) mod frame;
pub(crate) mod handshake;
pub(crate) mod shm;
pub(crate) mod tcp;

pub(crate) use frame::Header;

use crate::error::Result;

/// What a transport hands the engine while making progress.
pub(crate) enum Event {
    /// A complete message from `header.source`.
    Message(Header, Vec<u8>),
    /// A message from `header.source` whose payload is still in the sender's
    /// memory, to be copied straight into its destination.
    Lent(Header, shm::LentBytes),
    /// The connection to `peer` ended; no more messages will come from it.
    Lost { peer: usize, reason: String },
}

/// A way to reach some of the job's ranks.
pub(crate) trait Transport {
    /// Starts sending one frame to `peer`. It may be written now or queued;
    /// queued frames go out, in order, during later calls to `progress`.
    /// With `lend`, the caller promises to keep `payload` unchanged until
    /// `is_flushed(peer)`, so the transport may let the peer copy it from
    /// where it is instead of copying it first.
    fn send(&mut self, peer: usize, header: Header, payload: &[u8], lend: bool) -> Result<()>;

    /// Whether everything sent to `peer` so far has left this process.
    fn is_flushed(&self, peer: usize) -> bool;

    /// Moves bytes without blocking: writes queued frames, reads what has
    /// arrived and reports every complete message or lost peer to `events`.
    fn progress(&mut self, events: &mut Vec<Event>) -> Result<()>;

    /// Before the engine sleeps in `poll(2)`: adds the descriptors that wake
    /// it when `progress` can do something, and arranges for peers to make
    /// them readable. Returns false when there is work already (then the
    /// engine must not sleep). [`woke`](Transport::woke) follows either way.
    fn prepare_to_sleep(&mut self, fds: &mut Vec<libc::pollfd>) -> bool;

    /// After the sleep (or the decision not to sleep).
    fn woke(&mut self) {}

    /// How many times a blocking receive tries
    /// [`receive_direct`](Transport::receive_direct) before it receives as
    /// usual; 0 when the transport has no such shortcut.
    fn direct_polls(&self) -> u32 {
        0
    }

    /// A shortcut for a receive that nothing else competes for: if the next
    /// frame from `peer` is a whole inline message that `accept` takes (its
    /// payload fits in `buffer`), copies the payload to the start of
    /// `buffer`, consumes the frame and returns its header. Otherwise leaves
    /// everything as it is for `progress`.
    fn receive_direct(
        &mut self,
        _peer: usize,
        _buffer: &mut [u8],
        _accept: &dyn Fn(&Header) -> bool,
    ) -> Option<Header> {
        None
    }

    /// Flushes, then tells every peer we are done and waits until each has
    /// said the same, so no message in flight is lost when the process exits.
    fn close(&mut self) -> Result<()>;
}

/// `poll(2)` on `fds` for at most `timeout_ms`; interruptions count as wake-ups.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) {
    // SAFETY: `fds` is a valid, exclusively borrowed array of pollfd.
    unsafe {
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms);
    }
}
