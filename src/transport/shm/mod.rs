//! Messages between ranks on the same host, through shared memory.
//!
//! Each pair of ranks on a host shares one segment with a ring each way
//! ([`ring`]); frames (header and payload, as on TCP) are copied into the
//! ring by the sender and out of it by the receiver, with no system call on
//! the way. Large messages skip the ring: the sender lends its buffer and
//! the receiver copies it once, straight into its destination ([`lent`]).
//!
//! The pair keeps its authenticated TCP loopback connection from bootstrap
//! as a control channel: it carries the one-byte doorbells that wake a
//! sleeping peer, and its end-of-file is how a rank learns that its peer is
//! gone. The ring is then drained first, so every message the peer finished
//! is delivered; a message it did not finish (it died while writing it) is
//! reported as an error, never delivered as garbage.

mod assist;
mod fastbox;
mod lent;
mod link;
mod ring;
mod segment;
mod setup;

use std::net::TcpStream;

pub(crate) use self::lent::LentBytes;
use self::link::Link;
use super::{poll, Event, Header, Transport};
use crate::error::{Error, Result};

/// How many times a blocking receive polls its source's link before it
/// receives as usual: long enough for a ping-pong's answer, short enough
/// that other peers wait only microseconds for this rank's progress.
const DIRECT_POLLS: u32 = 256;
/// How many progress calls may pass without looking at the control sockets,
/// so a busy rank that never sleeps still notices a peer that died.
const CONTROL_CHECK_INTERVAL: u32 = 1024;

/// The shared-memory links of one rank to the ranks on its host.
pub(crate) struct ShmTransport {
    links: Vec<Option<Link>>,
    /// Whether the next `progress` reads the control sockets.
    check_control: bool,
    calls_since_check: u32,
}

/// How the same-host peers of a rank end up connected.
pub(crate) struct Established {
    pub shm: ShmTransport,
    /// Pairs that could not share memory; they stay on TCP.
    pub fallback: Vec<(usize, TcpStream)>,
}

impl ShmTransport {
    /// Moves the bootstrap connections to same-host `peers` onto shared
    /// memory (see [`setup`]), in a job of `size` ranks.
    pub(crate) fn establish(
        my_rank: usize,
        size: usize,
        peers: Vec<(usize, TcpStream)>,
        enabled: bool,
    ) -> Result<Established> {
        let established = setup::establish(my_rank, peers, enabled)?;
        let mut links: Vec<Option<Link>> = (0..size).map(|_| None).collect();
        for (peer, link) in established.shm {
            links[peer] = Some(link);
        }
        Ok(Established {
            shm: ShmTransport {
                links,
                check_control: false,
                calls_since_check: 0,
            },
            fallback: established.fallback,
        })
    }

    /// The ranks this transport reaches.
    pub(crate) fn peers(&self) -> Vec<usize> {
        (0..self.links.len())
            .filter(|&peer| self.links[peer].is_some())
            .collect()
    }

    fn link(&mut self, peer: usize) -> Result<&mut Link> {
        match self.links.get_mut(peer) {
            Some(Some(link)) => Ok(link),
            _ => Err(Error::Protocol {
                peer,
                reason: "no shared-memory link to this rank".to_string(),
            }),
        }
    }

    fn live_links(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().flatten().filter(|l| l.lost().is_none())
    }
}

impl Transport for ShmTransport {
    fn send(&mut self, peer: usize, header: Header, payload: &[u8], lend: bool) -> Result<()> {
        self.link(peer)?.send(header, payload, lend)
    }

    fn is_flushed(&self, peer: usize) -> bool {
        match self.links.get(peer) {
            Some(Some(link)) => link.is_flushed(),
            _ => true,
        }
    }

    fn progress(&mut self, events: &mut Vec<Event>) -> Result<()> {
        self.calls_since_check += 1;
        let check_control = std::mem::take(&mut self.check_control)
            || self.calls_since_check >= CONTROL_CHECK_INTERVAL;
        if check_control {
            self.calls_since_check = 0;
        }
        for link in self.links.iter_mut().flatten() {
            link.progress(check_control, events);
        }
        Ok(())
    }

    fn prepare_to_sleep(&mut self, fds: &mut Vec<libc::pollfd>) -> bool {
        let mut may_sleep = true;
        for link in self.live_links() {
            may_sleep &= link.prepare_to_sleep(fds);
        }
        may_sleep
    }

    fn woke(&mut self) {
        for link in self.live_links() {
            link.woke();
        }
        self.check_control = true;
    }

    fn direct_polls(&self) -> u32 {
        DIRECT_POLLS
    }

    fn receive_direct(
        &mut self,
        peer: usize,
        buffer: &mut [u8],
        accept: &dyn Fn(&Header) -> bool,
    ) -> Option<Header> {
        self.links
            .get_mut(peer)?
            .as_mut()?
            .receive_direct(buffer, accept)
    }

    fn close(&mut self) -> Result<()> {
        // What is still queued must reach the rings, and lent buffers must
        // be read; what is in a ring survives us, as the peer keeps the
        // memory mapped.
        while !self.links.iter().flatten().all(Link::is_flushed) {
            let mut ignored = Vec::new();
            self.progress(&mut ignored)?;
            let mut fds = Vec::new();
            if self.prepare_to_sleep(&mut fds) {
                poll(&mut fds, 100);
            }
            self.woke();
        }
        for link in self.links.iter().flatten() {
            link.shutdown();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
