//! The small protocol between the launcher and its per-node proxies.
//!
//! The control plane rides on the proxy's stdin/stdout: a pipe for the local
//! host, an SSH session for remote ones. Each message is a little-endian
//! `u32` length followed by a postcard-encoded [`ToProxy`] or [`FromProxy`].

use std::io::{self, Read, Write};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Refuse frames larger than this: a corrupted stream must not make us
/// allocate gigabytes.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// How often the launcher and each proxy tell each other they are alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// Silence after which each side gives the other up: the launcher declares
/// the node lost, the proxy ends its ranks.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(5);

/// What the proxy of one host must run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodePlan {
    /// Index of this node in the job, for messages.
    pub node: usize,
    /// Host name as the user wrote it.
    pub host: String,
    /// World ranks this node runs, in order.
    pub ranks: Vec<usize>,
    pub size: usize,
    pub program: String,
    pub args: Vec<String>,
    /// Complete environment of every rank before the PMI variables are added.
    pub env: Vec<(String, String)>,
    pub wdir: String,
    pub kvsname: String,
    /// Keys every rank can `get` from the start (process mapping, job secret).
    pub preset: Vec<(String, String)>,
}

/// Launcher → proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToProxy {
    /// Check the program and prepare; answer `Ready` or `Failed`.
    Prepare(Box<NodePlan>),
    /// Every node is ready: start the ranks.
    Start,
    /// Every rank of the job entered the PMI barrier; these are all the puts since the last one.
    BarrierOut {
        puts: Vec<(String, String)>,
    },
    Stdin(Vec<u8>),
    StdinClosed,
    /// End every rank now and exit.
    Kill,
    Heartbeat,
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a rank ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Proxy → launcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromProxy {
    /// The program exists and is executable here.
    Ready {
        hostname: String,
    },
    /// The node cannot run its part of the job; no rank was started.
    Failed {
        message: String,
    },
    /// All local ranks entered the PMI barrier; their puts since the last one.
    BarrierIn {
        puts: Vec<(String, String)>,
    },
    /// Whole lines of a rank's output.
    Output {
        rank: usize,
        stream: Stream,
        data: Vec<u8>,
    },
    Exited {
        rank: usize,
        pid: u32,
        exit: Exit,
    },
    /// A rank called `PMI_Abort` (`MPI_Abort`).
    Abort {
        rank: usize,
        code: i32,
        message: String,
    },
    Heartbeat,
    /// Every rank of the node has ended; the proxy exits after this.
    Done,
}

/// Writes one framed message and flushes it.
pub fn write_message<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let body = postcard::to_allocvec(message)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "control message too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// Reads one framed message; `Ok(None)` at a clean end of stream.
pub fn read_message<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "control message of {len} bytes is larger than {MAX_FRAME}: the stream is corrupt"
            ),
        ));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body)?;
    postcard::from_bytes(&body).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            // Most often the two ends are different builds of bramble.
            format!("undecodable control message ({e}): is the same version of bramble installed on every host?"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut wire = Vec::new();
        write_message(
            &mut wire,
            &FromProxy::Exited {
                rank: 3,
                pid: 9,
                exit: Exit::Signal(9),
            },
        )
        .unwrap();
        write_message(&mut wire, &ToProxy::Kill).unwrap();
        let mut input = wire.as_slice();
        let first: FromProxy = read_message(&mut input).unwrap().unwrap();
        assert!(matches!(
            first,
            FromProxy::Exited {
                rank: 3,
                pid: 9,
                exit: Exit::Signal(9)
            }
        ));
        let second: ToProxy = read_message(&mut input).unwrap().unwrap();
        assert!(matches!(second, ToProxy::Kill));
        assert!(read_message::<ToProxy>(&mut input).unwrap().is_none());
    }

    #[test]
    fn corrupt_frames_are_errors() {
        let huge = (u32::MAX).to_le_bytes();
        assert!(read_message::<ToProxy>(&mut huge.as_slice()).is_err());
        let garbage = [3u8, 0, 0, 0, 0xff, 0xff, 0xff];
        assert!(read_message::<ToProxy>(&mut garbage.as_slice()).is_err());
        let truncated = [10u8, 0, 0, 0, 1];
        assert!(read_message::<ToProxy>(&mut truncated.as_slice()).is_err());
    }
}
