//! The one internal interface every way of moving bytes between ranks implements.
//!
//! The communicator API (`Communicator`, point-to-point, collectives) never
//! sees a socket or a shared-memory ring: it hands whole frames to the
//! progress engine, which routes each peer to exactly one transport. A
//! transport must deliver the frames between one pair in the order they were
//! sent, without loss or duplication.

pub(crate) mod frame;
pub(crate) mod handshake;
pub(crate) mod tcp;

pub(crate) use frame::Header;

use crate::error::Result;

/// What a transport hands the engine while making progress.
pub(crate) enum Event {
    /// A complete message from `header.source`.
    Message(Header, Vec<u8>),
    /// The connection to `peer` ended; no more messages will come from it.
    Lost { peer: usize, reason: String },
}

/// A way to reach some of the job's ranks.
pub(crate) trait Transport {
    /// Starts sending one frame to `peer`. It may be written now or queued;
    /// queued frames go out, in order, during later calls to `progress`.
    fn send(&mut self, peer: usize, header: Header, payload: &[u8]) -> Result<()>;

    /// Whether everything sent to `peer` so far has left this process.
    fn is_flushed(&self, peer: usize) -> bool;

    /// Moves bytes without blocking: writes queued frames, reads what has
    /// arrived and reports every complete message or lost peer to `events`.
    fn progress(&mut self, events: &mut Vec<Event>) -> Result<()>;

    /// Adds the descriptors to sleep on until `progress` can do something.
    fn wait_fds(&self, fds: &mut Vec<libc::pollfd>);

    /// Flushes, then tells every peer we are done and waits until each has
    /// said the same, so no message in flight is lost when the process exits.
    fn close(&mut self) -> Result<()>;
}
