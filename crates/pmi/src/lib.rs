//! MPICH's "simple PMI" (PMI-1) wire protocol, both sides of it.
//!
//! PMI-1 is how an MPICH-linked program (C, mpi4py) talks to its process
//! manager: over the socket named by `PMI_FD` it sends newline-terminated
//! `cmd=...` lines to learn its job, publish and look up key/value pairs, and
//! meet the other ranks in barriers. Bramble's launcher serves this protocol
//! so unmodified MPICH programs run under `bramble run`, and bramble's own
//! library uses it as a client so bramble programs also run under `mpiexec`.
//!
//! - [`wire`]: one line, parsed and formatted.
//! - [`request`]: the commands and the replies a server gives.
//! - [`client`]: the rank's side, over an inherited file descriptor.
//! - [`host`]: the host name every side reports.

pub mod client;
pub mod host;
pub mod request;
pub mod wire;

pub use client::Client;
pub use host::host_name;
pub use request::{process_mapping, reply, JobFacts, Request};
pub use wire::Line;

/// What can go wrong speaking PMI.
#[derive(Debug, thiserror::Error)]
pub enum PmiError {
    #[error("malformed PMI message: {0}")]
    Malformed(String),
    #[error("PMI connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the process manager answered {command:?} with an error (rc={rc}): {message}")]
    Refused {
        command: String,
        rc: String,
        message: String,
    },
    #[error("the process manager closed the PMI connection")]
    Closed,
    #[error("bad PMI environment: {0}")]
    Environment(String),
}
