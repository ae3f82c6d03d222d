//! Turning the bootstrap TCP connections of same-host pairs into
//! shared-memory links.
//!
//! The lower rank of each pair creates the segment and offers it over the
//! pair's (authenticated) connection; the higher rank maps it, checks whether
//! it may read the creator's memory (for lent messages) and answers. Every
//! rank first sends all its offers, then answers all offers it gets, then
//! reads all answers, so no two ranks wait for each other.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::lent;
use super::link::Link;
use super::segment::Segment;
use crate::error::{Error, Result};

/// How long a rank waits for its same-host peers to answer the segment offer.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// An offer: `b'S'`, the creator's pid, its descriptor of the segment and
/// where it sees the segment's probe word; or `b'N'` and zeros when the
/// creator does not use shared memory.
const OFFER_LEN: usize = 17;
/// The answer: 1 if the segment is mapped, the opener's pid, and 1 if the
/// opener could read the creator's memory (then messages are lent both ways:
/// both processes have the same user and the same rights).
const ANSWER_LEN: usize = 6;

/// The links of one rank to its same-host peers, and the pairs that stay on TCP.
pub(crate) struct Links {
    pub shm: Vec<(usize, Link)>,
    pub fallback: Vec<(usize, TcpStream)>,
}

/// Sets up shared memory with each of `peers` (their bootstrap connections,
/// still blocking). With `enabled` false (or when mapping fails, which is
/// reported) the pair keeps using TCP.
pub(crate) fn establish(
    my_rank: usize,
    peers: Vec<(usize, TcpStream)>,
    enabled: bool,
) -> Result<Links> {
    let mut offered = Vec::new();
    let mut waiting = Vec::new();
    for (peer, mut stream) in peers {
        stream
            .set_read_timeout(Some(SETUP_TIMEOUT))
            .map_err(|e| Error::io(peer, e))?;
        if peer < my_rank {
            waiting.push((peer, stream));
            continue;
        }
        let created = if enabled {
            create_with_probe()
                .map_err(|error| warn_fallback(my_rank, peer, &error))
                .ok()
        } else {
            None
        };
        let offer = match &created {
            Some((segment, fd)) => Offer {
                pid: std::process::id(),
                fd: fd.as_raw_fd(),
                probe_address: segment.probe_address(),
            }
            .encode(),
            None => [b'N'; OFFER_LEN],
        };
        stream.write_all(&offer).map_err(|e| Error::io(peer, e))?;
        offered.push((peer, stream, created));
    }

    let mut links = Links {
        shm: Vec::new(),
        fallback: Vec::new(),
    };
    for (peer, mut stream) in waiting {
        let mut offer = [0u8; OFFER_LEN];
        stream
            .read_exact(&mut offer)
            .map_err(|e| setup_failed(peer, e))?;
        let opened = match Offer::decode(&offer) {
            Some(offer) if enabled => match Segment::open(offer.pid, offer.fd) {
                Ok(segment) => {
                    let pid = offer.pid as libc::pid_t;
                    let lend = lent::can_read(pid, offer.probe_address, segment.probe());
                    Some((segment, offer.pid, lend))
                }
                Err(error) => {
                    warn_fallback(my_rank, peer, &error);
                    None
                }
            },
            _ => None,
        };
        let mut answer = [0u8; ANSWER_LEN];
        if let Some((_, _, lend)) = &opened {
            answer[0] = 1;
            answer[1..5].copy_from_slice(&std::process::id().to_le_bytes());
            answer[5] = u8::from(*lend);
        }
        stream.write_all(&answer).map_err(|e| Error::io(peer, e))?;
        match opened {
            Some((segment, pid, lend)) => links
                .shm
                .push((peer, Link::new(peer, stream, segment, false, pid, lend)?)),
            None => links.fallback.push((peer, stream)),
        }
    }
    for (peer, mut stream, created) in offered {
        let mut answer = [0u8; ANSWER_LEN];
        stream
            .read_exact(&mut answer)
            .map_err(|e| setup_failed(peer, e))?;
        match created {
            // The peer has mapped it: our descriptor is no longer needed.
            Some((segment, _fd)) if answer[0] == 1 => {
                let pid = u32::from_le_bytes([answer[1], answer[2], answer[3], answer[4]]);
                let lend = answer[5] == 1;
                links
                    .shm
                    .push((peer, Link::new(peer, stream, segment, true, pid, lend)?));
            }
            _ => links.fallback.push((peer, stream)),
        }
    }
    Ok(links)
}

/// A fresh segment whose probe word holds random bytes.
fn create_with_probe() -> io::Result<(Segment, OwnedFd)> {
    let (segment, fd) = Segment::create()?;
    let mut probe = [0u8; 8];
    getrandom::getrandom(&mut probe).map_err(|e| io::Error::other(e.to_string()))?;
    segment.set_probe(probe);
    Ok((segment, fd))
}

struct Offer {
    pid: u32,
    fd: i32,
    probe_address: u64,
}

impl Offer {
    fn encode(&self) -> [u8; OFFER_LEN] {
        let mut offer = [0u8; OFFER_LEN];
        offer[0] = b'S';
        offer[1..5].copy_from_slice(&self.pid.to_le_bytes());
        offer[5..9].copy_from_slice(&self.fd.to_le_bytes());
        offer[9..17].copy_from_slice(&self.probe_address.to_le_bytes());
        offer
    }

    fn decode(offer: &[u8; OFFER_LEN]) -> Option<Offer> {
        if offer[0] != b'S' {
            return None;
        }
        let mut address = [0u8; 8];
        address.copy_from_slice(&offer[9..17]);
        Some(Offer {
            pid: u32::from_le_bytes([offer[1], offer[2], offer[3], offer[4]]),
            fd: i32::from_le_bytes([offer[5], offer[6], offer[7], offer[8]]),
            probe_address: u64::from_le_bytes(address),
        })
    }
}

fn warn_fallback(my_rank: usize, peer: usize, error: &io::Error) {
    eprintln!(
        "bramble: rank {my_rank}: cannot share memory with rank {peer} on this host ({error}); using TCP for this pair, which is slower"
    );
}

fn setup_failed(peer: usize, error: io::Error) -> Error {
    Error::Bootstrap(format!(
        "rank {peer} on this host did not answer the shared-memory setup: {error}"
    ))
}
