//! One end of a same-host pair: frames into the outgoing ring, frames out of
//! the incoming one, doorbells, and noticing that the peer is gone.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;

use super::lent::LentBytes;
use super::segment::{OneWay, Segment};
use crate::error::{Error, Result};
use crate::transport::frame::{Header, HEADER_LEN, KIND_DATA, KIND_LENT};
use crate::transport::Event;

/// Messages from this size up are lent rather than copied through the ring,
/// when the pair allows it: below it, the system call costs more than the
/// second copy it saves.
const LEND_THRESHOLD: usize = 64 * 1024;
/// Bytes after a lent message's header: the payload's address.
const LENT_BODY: usize = 8;

/// What both ends of a pair share, and what a lent message needs to tell
/// its sender it is done: kept alive by the link and by every [`LentBytes`].
pub(crate) struct Pair {
    control: TcpStream,
    pub(super) outgoing: OneWay,
    pub(super) incoming: OneWay,
    pub(super) peer_pid: libc::pid_t,
    /// A pidfd of the peer, to tell after reading its memory that it was
    /// still alive (so its pid could not have been reused meanwhile); `None`
    /// on kernels without pidfd (before Linux 5.3).
    peer_process: Option<OwnedFd>,
    /// Number of the last shared copy job this end posted (see `assist`).
    assist_jobs: Cell<u64>,
    // Last, so the rings above never outlive the mapping they point into.
    _segment: Segment,
}

impl Pair {
    /// A byte on the control connection wakes the peer from `poll`. If the
    /// socket is full, a wake-up is pending anyway; if the peer is gone, the
    /// reading side finds out.
    fn ring_doorbell(&self) {
        // SAFETY: sending one byte from a valid buffer on our own socket.
        unsafe {
            libc::send(
                self.control.as_raw_fd(),
                [1u8].as_ptr() as *const libc::c_void,
                1,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            );
        }
    }

    /// Whether we can tell that the peer has ended (see `peer_alive`).
    pub(super) fn can_watch_peer(&self) -> bool {
        self.peer_process.is_some()
    }

    /// Whether the peer process still exists (true when we cannot tell).
    pub(super) fn peer_alive(&self) -> bool {
        let Some(process) = &self.peer_process else {
            return true;
        };
        let mut fds = [libc::pollfd {
            fd: process.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // A pidfd becomes readable when its process has ended.
        crate::transport::poll(&mut fds, 0);
        fds[0].revents & libc::POLLIN == 0
    }

    /// The number of a new shared copy job.
    pub(super) fn next_assist_job(&self) -> u64 {
        let next = self.assist_jobs.get() + 1;
        self.assist_jobs.set(next);
        next
    }

    /// Wakes the peer if it sleeps waiting for us as a sender.
    pub(super) fn wake_producer(&self) {
        if self.incoming.ring.producer_needs_wakeup() {
            self.ring_doorbell();
        }
    }

    /// A message the peer lent us is read (or dropped): its send completes.
    pub(super) fn finish_lent(&self) {
        self.incoming.ring.finish_lent();
        self.wake_producer();
    }
}

/// One pair's rings and control connection, as one end sees them.
pub(crate) struct Link {
    peer: usize,
    pair: Rc<Pair>,
    /// Whether large messages to this peer are lent (it can read our memory).
    lend: bool,
    /// How many messages we have lent the peer so far.
    lent: u64,
    /// Frame bytes that did not fit in the ring yet, oldest first; the front
    /// may be partly written.
    queue: VecDeque<Vec<u8>>,
    written_of_front: usize,
    /// A frame larger than the ring, being received: header, payload, bytes so far.
    partial: Option<(Header, Vec<u8>, usize)>,
    /// Why the peer is gone, once it is.
    lost: Option<String>,
    /// The peer closed its control connection; we drain the ring, then report.
    peer_closed: Option<String>,
}

impl Link {
    pub(super) fn new(
        peer: usize,
        control: TcpStream,
        segment: Segment,
        creator: bool,
        peer_pid: u32,
        lend: bool,
    ) -> Result<Link> {
        control
            .set_nonblocking(true)
            .and_then(|()| control.set_nodelay(true))
            .and_then(|()| control.set_read_timeout(None))
            .map_err(|e| Error::io(peer, e))?;
        let (outgoing, incoming) = segment.directions(creator);
        Ok(Link {
            peer,
            pair: Rc::new(Pair {
                control,
                outgoing,
                incoming,
                peer_pid: peer_pid as libc::pid_t,
                peer_process: open_pidfd(peer_pid),
                assist_jobs: Cell::new(0),
                _segment: segment,
            }),
            lend,
            lent: 0,
            queue: VecDeque::new(),
            written_of_front: 0,
            partial: None,
            lost: None,
            peer_closed: None,
        })
    }

    /// Why the peer is gone, if it is.
    pub(super) fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Everything sent is in the ring and every lent buffer was read (or
    /// the peer is gone).
    pub(super) fn is_flushed(&self) -> bool {
        self.lost.is_some()
            || (self.queue.is_empty() && self.pair.outgoing.ring.lent_finished() == self.lent)
    }

    /// Before sleeping: arranges to be woken by the peer, adds the control
    /// socket to `fds`, and says whether sleeping is right (nothing to do).
    pub(super) fn prepare_to_sleep(&self, fds: &mut Vec<libc::pollfd>) -> bool {
        let incoming = &self.pair.incoming;
        let mut may_sleep =
            incoming.ring.consumer_arm() && incoming.fastbox.is_empty_before_sleep();
        let outgoing = &self.pair.outgoing.ring;
        if !self.is_flushed() {
            outgoing.producer_arm();
            // Checked after arming, so a change in between is not missed.
            let ring_full = !self.queue.is_empty() && outgoing.free_space() == 0;
            let lent_unread = outgoing.lent_finished() != self.lent;
            may_sleep &= ring_full || (self.queue.is_empty() && lent_unread);
        }
        fds.push(libc::pollfd {
            fd: self.pair.control.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        may_sleep
    }

    pub(super) fn woke(&self) {
        self.pair.incoming.ring.consumer_disarm();
        self.pair.outgoing.ring.producer_disarm();
    }

    /// No more messages from us: the peer sees the end of the control connection.
    pub(super) fn shutdown(&self) {
        let _ = self.pair.control.shutdown(std::net::Shutdown::Write);
    }

    /// Writes the frame into the ring, queueing what does not fit. A large
    /// payload the caller keeps unchanged until the send is flushed (`lend`)
    /// is lent instead, when the peer can read it.
    pub(super) fn send(&mut self, header: Header, payload: &[u8], lend: bool) -> Result<()> {
        if let Some(reason) = &self.lost {
            return Err(Error::PeerLost {
                peer: self.peer,
                reason: reason.clone(),
            });
        }
        if lend && self.lend && payload.len() >= LEND_THRESHOLD {
            let header = Header {
                kind: KIND_LENT,
                ..header
            };
            let address = (payload.as_ptr() as u64).to_le_bytes();
            self.lent += 1;
            self.write_frame(bytemuck::bytes_of(&header), &address);
        } else {
            self.write_frame(bytemuck::bytes_of(&header), payload);
        }
        Ok(())
    }

    fn write_frame(&mut self, head: &[u8], body: &[u8]) {
        let outgoing = &self.pair.outgoing;
        let total = head.len() + body.len();
        // The fastbox only when nothing older is still on its way (see `fastbox`).
        if self.queue.is_empty() && outgoing.fastbox.can_take(total) && outgoing.ring.all_consumed()
        {
            outgoing.fastbox.put(&[head, body]);
            if outgoing.ring.consumer_needs_wakeup() {
                self.pair.ring_doorbell();
            }
            return;
        }
        let written = if self.queue.is_empty() {
            outgoing.ring.write(&[head, body])
        } else {
            0
        };
        if written > 0 && outgoing.ring.consumer_needs_wakeup() {
            self.pair.ring_doorbell();
        }
        if written < total {
            let mut rest = Vec::with_capacity(total - written);
            if written < head.len() {
                rest.extend_from_slice(&head[written..]);
                rest.extend_from_slice(body);
            } else {
                rest.extend_from_slice(&body[written - head.len()..]);
            }
            self.queue.push_back(rest);
        }
    }

    /// Moves queued bytes out and arrived frames in; reports the peer lost
    /// once it closed and everything it finished is delivered.
    pub(super) fn progress(&mut self, check_control: bool, events: &mut Vec<Event>) {
        if self.lost.is_some() {
            return;
        }
        if check_control && self.peer_closed.is_none() {
            self.read_control();
        }
        self.flush();
        if self.pair.outgoing.ring.lent_finished() != self.lent {
            // Waiting for the peer to copy what we lent: help it.
            self.pair.outgoing.assist.help(self.pair.peer_pid);
        }
        if let Err(reason) = self.receive(events) {
            self.lose(reason, events);
            return;
        }
        if let Some(closed) = &self.peer_closed {
            // What is left is a message the peer died in the middle of.
            let in_ring = self.pair.incoming.ring.available();
            let reason = match &self.partial {
                Some((header, _, filled)) => format!(
                    "it ended in the middle of sending a {}-byte message ({filled} bytes arrived); did it crash?",
                    header.len
                ),
                None if in_ring > 0 => format!(
                    "it ended in the middle of sending a message ({in_ring} bytes arrived); did it crash?"
                ),
                None => closed.clone(),
            };
            self.lose(reason, events);
        }
    }

    fn lose(&mut self, reason: String, events: &mut Vec<Event>) {
        self.queue.clear();
        self.partial = None;
        self.lost = Some(reason.clone());
        events.push(Event::Lost {
            peer: self.peer,
            reason,
        });
    }

    /// Swallows doorbells and notices the end of the connection.
    fn read_control(&mut self) {
        let mut buffer = [0u8; 64];
        loop {
            match (&self.pair.control).read(&mut buffer) {
                Ok(0) => {
                    self.peer_closed =
                        Some("its connection closed (did it exit or crash?)".to_string());
                    return;
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.peer_closed = Some(format!("its connection failed: {e}"));
                    return;
                }
            }
        }
    }

    /// Moves queued bytes into the ring as space allows.
    fn flush(&mut self) {
        let mut moved = false;
        while let Some(front) = self.queue.front() {
            let written = self
                .pair
                .outgoing
                .ring
                .write(&[&front[self.written_of_front..]]);
            if written == 0 {
                break;
            }
            moved = true;
            self.written_of_front += written;
            if self.written_of_front < front.len() {
                break;
            }
            self.queue.pop_front();
            self.written_of_front = 0;
        }
        if moved && self.pair.outgoing.ring.consumer_needs_wakeup() {
            self.pair.ring_doorbell();
        }
    }

    /// Reports every complete frame in the fastbox and the ring; a frame
    /// larger than the ring is collected as it streams through.
    fn receive(&mut self, events: &mut Vec<Event>) -> Result<(), String> {
        let incoming = &self.pair.incoming;
        let mut consumed = false;
        loop {
            let available = incoming.ring.available();
            if let Some((header, mut payload, mut filled)) = self.partial.take() {
                let n = available.min(payload.len() - filled);
                incoming.ring.peek(0, &mut payload[filled..filled + n]);
                incoming.ring.consume(n);
                consumed |= n > 0;
                filled += n;
                if filled < payload.len() {
                    self.partial = Some((header, payload, filled));
                    break;
                }
                events.push(Event::Message(header, payload));
                continue;
            }
            // Checked before every ring frame: a fastbox frame is older than
            // any ring frame not yet started.
            if let Some(len) = incoming.fastbox.waiting()? {
                let header = self.header(|offset, out| incoming.fastbox.peek(offset, out))?;
                if frame_len(&header) != len {
                    return Err(format!(
                        "protocol violation: a {len}-byte fastbox frame announces {} bytes",
                        frame_len(&header)
                    ));
                }
                events.push(self.frame(header, |offset, out| incoming.fastbox.peek(offset, out)));
                incoming.fastbox.release();
                continue;
            }
            if available < HEADER_LEN {
                break;
            }
            let header = self.header(|offset, out| incoming.ring.peek(offset, out))?;
            let len = frame_len(&header);
            if available >= len {
                events.push(self.frame(header, |offset, out| incoming.ring.peek(offset, out)));
                incoming.ring.consume(len);
                consumed = true;
            } else if len > incoming.ring.capacity() {
                incoming.ring.consume(HEADER_LEN);
                consumed = true;
                self.partial = Some((header, vec![0u8; header.len as usize], 0));
            } else {
                // The rest of a frame that fits is on its way.
                break;
            }
        }
        if consumed && incoming.ring.producer_needs_wakeup() {
            self.pair.ring_doorbell();
        }
        Ok(())
    }

    /// See [`Transport::receive_direct`]: the next frame, fastbox first as in
    /// `receive`, straight into `buffer` if it is whole, inline and accepted.
    pub(super) fn receive_direct(
        &mut self,
        buffer: &mut [u8],
        accept: &dyn Fn(&Header) -> bool,
    ) -> Option<Header> {
        if self.lost.is_some() || self.peer_closed.is_some() || self.partial.is_some() {
            return None;
        }
        let incoming = &self.pair.incoming;
        if let Some(len) = incoming.fastbox.waiting().ok()? {
            let header = self
                .header(|offset, out| incoming.fastbox.peek(offset, out))
                .ok()?;
            let body = buffer.get_mut(..header.len as usize)?;
            if header.kind != KIND_DATA || frame_len(&header) != len || !accept(&header) {
                return None;
            }
            incoming.fastbox.peek(HEADER_LEN, body);
            incoming.fastbox.release();
            return Some(header);
        }
        let available = incoming.ring.available();
        if available < HEADER_LEN {
            return None;
        }
        let header = self
            .header(|offset, out| incoming.ring.peek(offset, out))
            .ok()?;
        let body = buffer.get_mut(..header.len as usize)?;
        if header.kind != KIND_DATA || available < frame_len(&header) || !accept(&header) {
            return None;
        }
        incoming.ring.peek(HEADER_LEN, body);
        incoming.ring.consume(frame_len(&header));
        if incoming.ring.producer_needs_wakeup() {
            self.pair.ring_doorbell();
        }
        Some(header)
    }

    /// The checked header of the next frame, read through `peek`.
    fn header(&self, peek: impl Fn(usize, &mut [u8])) -> Result<Header, String> {
        let mut head = [0u8; HEADER_LEN];
        peek(0, &mut head);
        let header: Header = bytemuck::pod_read_unaligned(&head);
        header
            .check(self.peer, &[KIND_DATA, KIND_LENT])
            .map_err(|reason| format!("protocol violation: {reason}"))?;
        Ok(header)
    }

    /// The event of a whole frame, read through `peek`.
    fn frame(&self, header: Header, peek: impl Fn(usize, &mut [u8])) -> Event {
        if header.kind == KIND_LENT {
            let mut address = [0u8; LENT_BODY];
            peek(HEADER_LEN, &mut address);
            let lent = LentBytes::new(
                self.pair.clone(),
                u64::from_le_bytes(address),
                header.len as usize,
            );
            let header = Header {
                kind: KIND_DATA,
                ..header
            };
            return Event::Lent(header, lent);
        }
        let mut payload = vec![0u8; header.len as usize];
        peek(HEADER_LEN, &mut payload);
        Event::Message(header, payload)
    }
}

/// Bytes of a frame with this header, in a ring or a fastbox.
fn frame_len(header: &Header) -> usize {
    if header.kind == KIND_LENT {
        HEADER_LEN + LENT_BODY
    } else {
        HEADER_LEN + header.len as usize
    }
}

/// A pidfd for process `pid`, if the kernel has them.
fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
