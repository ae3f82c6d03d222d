//! The fixed header in front of every message on every transport.

use bytemuck::{Pod, Zeroable};

/// Size of [`Header`] on the wire.
pub(crate) const HEADER_LEN: usize = std::mem::size_of::<Header>();

/// Describes one message. Sent as raw bytes: all ranks of a job run on the
/// same architecture family (little-endian Linux), which `Header::check` guards.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub(crate) struct Header {
    /// Bytes of payload that follow.
    pub len: u64,
    /// Fingerprint of the payload's Rust type, so a receive of the wrong type is an error.
    pub type_tag: u64,
    /// Which communicator (and whether point-to-point or collective traffic).
    pub context: u32,
    /// The user's (or collective's) tag.
    pub tag: u32,
    /// World rank of the sender.
    pub source: u32,
    /// Kind of frame: see the `KIND_*` constants.
    pub kind: u32,
}

/// An ordinary message carrying its payload inline.
pub(crate) const KIND_DATA: u32 = 1;

/// The largest payload we accept from the network, to refuse absurd lengths
/// from a corrupted stream instead of trying to allocate them.
pub(crate) const MAX_PAYLOAD: u64 = 1 << 40;

impl Header {
    /// Validates a header read from `peer`'s connection.
    pub(crate) fn check(&self, peer: usize) -> Result<(), String> {
        if self.kind != KIND_DATA {
            return Err(format!("unknown frame kind {}", self.kind));
        }
        if self.source as usize != peer {
            return Err(format!(
                "frame claims to come from rank {} on rank {peer}'s connection",
                self.source
            ));
        }
        if self.len > MAX_PAYLOAD {
            return Err(format!("frame announces an absurd {} bytes", self.len));
        }
        Ok(())
    }
}
