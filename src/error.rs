//! The one error type of the library: every failure says what happened and what to do.

/// Result of every fallible bramble operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a bramble call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start the job: {0}")]
    Bootstrap(String),
    #[error("talking to the process manager failed: {0} (was the program started by `bramble run` or `mpiexec`?)")]
    Pmi(#[from] bramble_pmi::PmiError),
    #[error("network error with rank {peer}: {source}")]
    Io {
        peer: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("rank {peer} is gone: {reason}")]
    PeerLost { peer: usize, reason: String },
    #[error("rank {rank} is out of range: this communicator has {size} ranks (0..{size})")]
    RankOutOfRange { rank: usize, size: usize },
    #[error("message from rank {source_rank} with tag {tag} is {received} bytes but the receive buffer holds only {capacity}: pass a buffer at least that large")]
    Truncated {
        source_rank: usize,
        tag: u32,
        received: usize,
        capacity: usize,
    },
    #[error("message from rank {source_rank} with tag {tag} holds a different type than the {expected} this receive expects: sender and receiver must use the same type")]
    TypeMismatch {
        source_rank: usize,
        tag: u32,
        expected: &'static str,
    },
    #[error("could not encode or decode a {type_name}: {reason}")]
    Codec {
        type_name: &'static str,
        reason: String,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("protocol violation by rank {peer}: {reason}")]
    Protocol { peer: usize, reason: String },
}

impl Error {
    pub(crate) fn io(peer: usize, source: std::io::Error) -> Self {
        Error::Io { peer, source }
    }
}
