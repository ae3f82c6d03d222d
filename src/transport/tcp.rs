//! Messages between ranks over TCP: the transport between hosts.
//!
//! Every pair of ranks shares one authenticated connection (see
//! [`handshake`](super::handshake)), set up when the job starts: each rank
//! connects to every lower rank and accepts the higher ones. Sockets are
//! non-blocking; frames that cannot be written at once are queued and go out
//! in order during `progress`, which also reads whatever has arrived. Because
//! a rank always keeps reading while it waits to write, two ranks sending
//! large messages to each other cannot deadlock.
//!
//! The listening socket stays open for the whole job on a background thread,
//! so a stranger's connection is refused and logged without disturbing the job.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use super::frame::{Header, HEADER_LEN, KIND_DATA};
use super::handshake::{accept_side, connect_side, Secret};
use super::{poll, Event, Transport};
use crate::error::{Error, Result};

/// How long a rank waits for all its connections when the job starts.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one connection attempt to one address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many reads a blocking receive tries on its source's socket before it
/// receives as usual (see `Transport::receive_direct`): each is a system call.
const DIRECT_POLLS: u32 = 16;
/// Size of each connection's read buffer; larger payloads are read in place.
const READ_BUFFER: usize = 256 * 1024;

/// The TCP links of one rank to the peers it reaches over TCP.
pub(crate) struct TcpTransport {
    links: Vec<Option<Link>>,
}

/// Where a rank listens, as published to the other ranks.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub addresses: Vec<SocketAddr>,
}

impl Endpoint {
    /// `ip:port,ip:port` (IPv6 addresses in brackets).
    pub(crate) fn encode(&self) -> String {
        let parts: Vec<String> = self.addresses.iter().map(|a| a.to_string()).collect();
        parts.join(",")
    }

    pub(crate) fn decode(text: &str) -> Result<Endpoint> {
        let addresses = text
            .split(',')
            .map(|part| {
                part.parse().map_err(|_| {
                    Error::Bootstrap(format!("a rank published an unreadable address {part:?}"))
                })
            })
            .collect::<Result<Vec<SocketAddr>>>()?;
        Ok(Endpoint { addresses })
    }
}

/// A listening socket, opened before the addresses are exchanged.
pub(crate) struct Listener {
    socket: TcpListener,
}

impl Listener {
    pub(crate) fn open() -> Result<Listener> {
        let socket = TcpListener::bind("0.0.0.0:0")
            .map_err(|e| Error::Bootstrap(format!("cannot open a listening TCP socket: {e}")))?;
        Ok(Listener { socket })
    }

    pub(crate) fn port(&self) -> Result<u16> {
        self.socket
            .local_addr()
            .map(|a| a.port())
            .map_err(|e| Error::Bootstrap(format!("listening socket has no address: {e}")))
    }
}

/// Connects this rank to every rank that has an endpoint (indexed by world
/// rank; `None` for itself), proving the job secret both ways: it connects
/// to the lower ranks and accepts the higher ones. Returns the connections,
/// still in blocking mode, indexed by rank.
pub(crate) fn connect_all(
    my_rank: usize,
    endpoints: &[Option<Endpoint>],
    listener: Listener,
    secret: &Secret,
) -> Result<Vec<Option<TcpStream>>> {
    let size = endpoints.len();
    let (accepted_tx, accepted_rx) = mpsc::channel();
    spawn_acceptor(listener.socket, secret.clone(), my_rank, size, accepted_tx)?;

    let mut streams: Vec<Option<TcpStream>> = (0..size).map(|_| None).collect();
    for (peer, endpoint) in endpoints.iter().enumerate().take(my_rank) {
        if let Some(endpoint) = endpoint {
            streams[peer] = Some(connect_to(my_rank, peer, endpoint, secret)?);
        }
    }
    let expected = endpoints
        .iter()
        .enumerate()
        .skip(my_rank + 1)
        .filter(|(_, e)| e.is_some())
        .count();
    receive_accepted(&mut streams, expected, &accepted_rx, endpoints)?;
    Ok(streams)
}

impl TcpTransport {
    /// The transport over the given connections, `(peer, stream)`, of a job
    /// of `size` ranks.
    pub(crate) fn new(size: usize, streams: Vec<(usize, TcpStream)>) -> Result<TcpTransport> {
        let mut links: Vec<Option<Link>> = (0..size).map(|_| None).collect();
        for (peer, stream) in streams {
            links[peer] = Some(Link::new(peer, stream)?);
        }
        Ok(TcpTransport { links })
    }

    fn link(&mut self, peer: usize) -> Result<&mut Link> {
        match self.links.get_mut(peer) {
            Some(Some(link)) if !link.lost => Ok(link),
            Some(Some(_)) => Err(Error::PeerLost {
                peer,
                reason: "its connection closed (did it exit or crash?)".to_string(),
            }),
            _ => Err(Error::Protocol {
                peer,
                reason: "no TCP link to this rank".to_string(),
            }),
        }
    }
}

/// Hands authenticated connections from higher ranks to the main thread, and
/// rejects (and logs) every connection that cannot prove it belongs to the job.
fn spawn_acceptor(
    socket: TcpListener,
    secret: Secret,
    my_rank: usize,
    size: usize,
    accepted: Sender<(usize, TcpStream)>,
) -> Result<()> {
    thread::Builder::new()
        .name("bramble-accept".to_string())
        .spawn(move || {
            for stream in socket.incoming() {
                let Ok(mut stream) = stream else { continue };
                let from = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "an unknown address".to_string());
                match accept_side(&mut stream, &secret, my_rank as u32, size) {
                    Ok(peer) if (peer as usize) > my_rank => {
                        if accepted.send((peer as usize, stream)).is_err() {
                            eprintln!(
                                "bramble: rank {my_rank}: refused a late connection from rank {peer} at {from}"
                            );
                        }
                    }
                    Ok(peer) => eprintln!(
                        "bramble: rank {my_rank}: refused a connection from rank {peer} at {from}: lower ranks are connected to, not accepted"
                    ),
                    Err(reason) => eprintln!(
                        "bramble: rank {my_rank}: refused a connection from {from}: {reason}"
                    ),
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Bootstrap(format!("cannot start the connection acceptor: {e}")))
}

fn receive_accepted(
    streams: &mut [Option<TcpStream>],
    mut expected: usize,
    accepted: &Receiver<(usize, TcpStream)>,
    endpoints: &[Option<Endpoint>],
) -> Result<()> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while expected > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match accepted.recv_timeout(left) {
            Ok((peer, stream)) => {
                if streams[peer].is_some() || endpoints[peer].is_none() {
                    eprintln!("bramble: refused a second connection from rank {peer}");
                    continue;
                }
                streams[peer] = Some(stream);
                expected -= 1;
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                let missing: Vec<String> = streams
                    .iter()
                    .enumerate()
                    .filter(|(peer, stream)| stream.is_none() && endpoints[*peer].is_some())
                    .map(|(peer, _)| peer.to_string())
                    .collect();
                return Err(Error::Bootstrap(format!(
                    "ranks {} did not connect within {}s: is a firewall blocking TCP between the hosts?",
                    missing.join(", "),
                    SETUP_TIMEOUT.as_secs()
                )));
            }
        }
    }
    Ok(())
}

fn connect_to(
    my_rank: usize,
    peer: usize,
    endpoint: &Endpoint,
    secret: &Secret,
) -> Result<TcpStream> {
    let mut failures = Vec::new();
    for address in &endpoint.addresses {
        match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
            Ok(mut stream) => {
                match connect_side(&mut stream, secret, my_rank as u32, peer as u32) {
                    Ok(()) => return Ok(stream),
                    Err(reason) => failures.push(format!("{address}: {reason}")),
                }
            }
            Err(e) => failures.push(format!("{address}: {e}")),
        }
    }
    Err(Error::Bootstrap(format!(
        "rank {my_rank} cannot reach rank {peer} ({}): check that the hosts can reach each other over TCP",
        failures.join("; ")
    )))
}

impl Transport for TcpTransport {
    fn send(&mut self, peer: usize, header: Header, payload: &[u8], lend: bool) -> Result<()> {
        let link = self.link(peer)?;
        link.send(header, payload, lend).map_err(|e| link.fail(e))
    }

    fn is_flushed(&self, peer: usize) -> bool {
        match self.links.get(peer) {
            Some(Some(link)) => link.outgoing.is_empty() || link.lost,
            _ => true,
        }
    }

    fn progress(&mut self, events: &mut Vec<Event>) -> Result<()> {
        for link in self.links.iter_mut().flatten() {
            if link.lost {
                continue;
            }
            let result = link.flush().and_then(|()| link.read_available(events));
            if let Err(e) = result {
                let error = link.fail(e);
                events.push(Event::Lost {
                    peer: link.peer,
                    reason: error.to_string(),
                });
            } else if link.lost {
                events.push(Event::Lost {
                    peer: link.peer,
                    reason: "its connection closed (did it exit or crash?)".to_string(),
                });
            }
        }
        Ok(())
    }

    fn prepare_to_sleep(&mut self, fds: &mut Vec<libc::pollfd>) -> bool {
        self.add_fds(fds);
        true
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
        let link = self.links.get_mut(peer)?.as_mut()?;
        if link.lost {
            return None;
        }
        link.reader
            .take_direct(&mut link.stream, peer, buffer, accept)
    }

    fn close(&mut self) -> Result<()> {
        // Everything we sent must leave before we say goodbye.
        loop {
            let mut ignored = Vec::new();
            self.progress(&mut ignored)?;
            if self
                .links
                .iter()
                .flatten()
                .all(|l| l.lost || l.outgoing.is_empty())
            {
                break;
            }
            let mut fds = Vec::new();
            self.add_fds(&mut fds);
            poll(&mut fds, 100);
        }
        for link in self.links.iter_mut().flatten() {
            let _ = link.stream.shutdown(std::net::Shutdown::Write);
        }
        // Read until every peer has closed too: closing a socket with unread
        // data would reset the connection and could destroy what the peer
        // has not yet read from us.
        loop {
            let mut ignored = Vec::new();
            self.progress(&mut ignored)?;
            if self.links.iter().flatten().all(|l| l.lost) {
                return Ok(());
            }
            let mut fds = Vec::new();
            self.add_fds(&mut fds);
            poll(&mut fds, 100);
        }
    }
}

impl TcpTransport {
    /// The sockets to sleep on: readable always, writable while frames wait.
    fn add_fds(&self, fds: &mut Vec<libc::pollfd>) {
        for link in self.links.iter().flatten().filter(|l| !l.lost) {
            let mut events = libc::POLLIN;
            if !link.outgoing.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd {
                fd: link.stream.as_raw_fd(),
                events,
                revents: 0,
            });
        }
    }
}

/// One connection to one peer.
struct Link {
    peer: usize,
    stream: TcpStream,
    /// Bytes waiting to be written, oldest first; the front may be partly written.
    outgoing: VecDeque<Unsent>,
    written_of_front: usize,
    reader: FrameReader,
    lost: bool,
}

impl Link {
    fn new(peer: usize, stream: TcpStream) -> Result<Link> {
        stream
            .set_nodelay(true)
            .and_then(|()| stream.set_nonblocking(true))
            .map_err(|e| Error::io(peer, e))?;
        Ok(Link {
            peer,
            stream,
            outgoing: VecDeque::new(),
            written_of_front: 0,
            reader: FrameReader::new(),
            lost: false,
        })
    }

    fn fail(&mut self, error: io::Error) -> Error {
        self.lost = true;
        self.outgoing.clear();
        Error::PeerLost {
            peer: self.peer,
            reason: format!("its connection failed: {error}"),
        }
    }

    /// Writes straight from the caller's buffers when nothing is queued.
    /// What the kernel does not take now is copied, unless the payload is
    /// `lend`: then it is written later from where it is.
    fn send(&mut self, header: Header, payload: &[u8], lend: bool) -> io::Result<()> {
        let head = bytemuck::bytes_of(&header);
        let mut done = 0;
        if self.outgoing.is_empty() {
            done = write_vectored_nonblocking(&mut self.stream, head, payload)?;
        }
        if done < HEADER_LEN {
            self.outgoing
                .push_back(Unsent::Copied(head[done..].to_vec()));
        }
        let payload_done = done.saturating_sub(HEADER_LEN);
        if payload_done < payload.len() {
            let rest = &payload[payload_done..];
            self.outgoing.push_back(if lend {
                Unsent::Lent {
                    address: rest.as_ptr(),
                    len: rest.len(),
                }
            } else {
                Unsent::Copied(rest.to_vec())
            });
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some(front) = self.outgoing.front() {
            let (address, len) = front.bytes();
            let offset = self.written_of_front;
            // SAFETY: `address..address + len` is a Vec we own, or a lent
            // payload the engine keeps alive until this link is flushed; the
            // kernel only reads it (and would fail with EFAULT, not corrupt
            // anything, were that promise broken).
            let written = unsafe {
                libc::send(
                    self.stream.as_raw_fd(),
                    address.add(offset) as *const libc::c_void,
                    len - offset,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if written < 0 {
                let error = io::Error::last_os_error();
                match error.kind() {
                    io::ErrorKind::WouldBlock => return Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(error),
                }
            }
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.written_of_front += written as usize;
            if self.written_of_front == len {
                self.outgoing.pop_front();
                self.written_of_front = 0;
            }
        }
        Ok(())
    }

    fn read_available(&mut self, events: &mut Vec<Event>) -> io::Result<()> {
        match self.reader.read_from(&mut self.stream, self.peer, events)? {
            ReadOutcome::Open => Ok(()),
            ReadOutcome::Closed => {
                self.lost = true;
                Ok(())
            }
        }
    }
}

/// Frame bytes the kernel has not taken yet.
enum Unsent {
    /// Our own copy.
    Copied(Vec<u8>),
    /// Part of a payload the sender lent: it stays unchanged until the link
    /// is flushed, so it is written from where it is, without a copy.
    Lent { address: *const u8, len: usize },
}

impl Unsent {
    fn bytes(&self) -> (*const u8, usize) {
        match self {
            Unsent::Copied(bytes) => (bytes.as_ptr(), bytes.len()),
            Unsent::Lent { address, len } => (*address, *len),
        }
    }
}

/// Writes header and payload with one `writev`, as much as the kernel takes now.
fn write_vectored_nonblocking(
    stream: &mut TcpStream,
    head: &[u8],
    payload: &[u8],
) -> io::Result<usize> {
    let mut done = 0;
    let total = head.len() + payload.len();
    while done < total {
        let slices: [IoSlice; 2] = if done < head.len() {
            [IoSlice::new(&head[done..]), IoSlice::new(payload)]
        } else {
            [
                IoSlice::new(&payload[done - head.len()..]),
                IoSlice::new(&[]),
            ]
        };
        match stream.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads from `stream` into the spare capacity of `payload`, extending it.
fn read_into_spare(stream: &TcpStream, payload: &mut Vec<u8>) -> io::Result<usize> {
    let spare = payload.capacity() - payload.len();
    // SAFETY: the kernel writes at most `spare` bytes into the vector's
    // spare capacity; exactly the bytes it reports are then counted in.
    unsafe {
        let read = libc::recv(
            stream.as_raw_fd(),
            payload.as_mut_ptr().add(payload.len()) as *mut libc::c_void,
            spare,
            0,
        );
        if read < 0 {
            return Err(io::Error::last_os_error());
        }
        payload.set_len(payload.len() + read as usize);
        Ok(read as usize)
    }
}

enum ReadOutcome {
    Open,
    Closed,
}

/// Cuts a byte stream into frames. Small frames are parsed out of a shared
/// buffer; a large payload gets its own allocation and is read into it directly.
struct FrameReader {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// A large message being read in place: its header, and its payload so
    /// far (its capacity is the whole payload).
    partial: Option<(Header, Vec<u8>)>,
}

impl FrameReader {
    fn new() -> Self {
        FrameReader {
            buffer: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            partial: None,
        }
    }

    fn read_from(
        &mut self,
        stream: &mut TcpStream,
        peer: usize,
        events: &mut Vec<Event>,
    ) -> io::Result<ReadOutcome> {
        // A read that returns less than asked for has emptied the socket:
        // reading again would only cost a system call to learn so.
        let mut drained = false;
        loop {
            if let Some((header, mut payload)) = self.partial.take() {
                let wanted = payload.capacity() - payload.len();
                match read_into_spare(stream, &mut payload) {
                    Ok(0) => return Ok(ReadOutcome::Closed),
                    Ok(n) => drained = n < wanted,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.partial = Some((header, payload));
                        return Ok(ReadOutcome::Open);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                if payload.len() == header.len as usize {
                    events.push(Event::Message(header, payload));
                } else {
                    self.partial = Some((header, payload));
                    if drained {
                        return Ok(ReadOutcome::Open);
                    }
                }
                continue;
            }
            self.parse_buffered(peer, events)?;
            if self.partial.is_some() {
                continue;
            }
            if drained {
                return Ok(ReadOutcome::Open);
            }
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let wanted = self.buffer.len() - self.end;
            match stream.read(&mut self.buffer[self.end..]) {
                Ok(0) => return Ok(ReadOutcome::Closed),
                Ok(n) => {
                    self.end += n;
                    drained = n < wanted;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Open),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// See [`Transport::receive_direct`]: the next frame straight into
    /// `out`, if it is whole in the buffer (after at most one read) and
    /// accepted. Anything else stays for `read_from`.
    fn take_direct(
        &mut self,
        stream: &mut TcpStream,
        peer: usize,
        out: &mut [u8],
        accept: &dyn Fn(&Header) -> bool,
    ) -> Option<Header> {
        if self.partial.is_some() {
            return None;
        }
        if self.whole_buffered_frame().is_none() {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            // A closed or failed socket is for `read_from` to report.
            match stream.read(&mut self.buffer[self.end..]) {
                Ok(n) if n > 0 => self.end += n,
                _ => return None,
            }
        }
        let header = self.whole_buffered_frame()?;
        header.check(peer, &[KIND_DATA]).ok()?;
        let len = header.len as usize;
        let target = out.get_mut(..len)?;
        if !accept(&header) {
            return None;
        }
        let body = self.start + HEADER_LEN;
        target.copy_from_slice(&self.buffer[body..body + len]);
        self.start = body + len;
        Some(header)
    }

    /// The header of the next frame, if the buffer holds that frame whole.
    fn whole_buffered_frame(&self) -> Option<Header> {
        if self.end - self.start < HEADER_LEN {
            return None;
        }
        let header: Header =
            bytemuck::pod_read_unaligned(&self.buffer[self.start..self.start + HEADER_LEN]);
        ((self.end - self.start - HEADER_LEN) as u64 >= header.len).then_some(header)
    }

    /// Emits every whole frame in the buffer; starts an in-place read for a
    /// payload too large to fit.
    fn parse_buffered(&mut self, peer: usize, events: &mut Vec<Event>) -> io::Result<()> {
        while self.end - self.start >= HEADER_LEN {
            let header: Header =
                bytemuck::pod_read_unaligned(&self.buffer[self.start..self.start + HEADER_LEN]);
            header
                .check(peer, &[KIND_DATA])
                .map_err(|reason| io::Error::new(io::ErrorKind::InvalidData, reason))?;
            let len = header.len as usize;
            let available = self.end - self.start - HEADER_LEN;
            let body = self.start + HEADER_LEN;
            if available >= len {
                events.push(Event::Message(
                    header,
                    self.buffer[body..body + len].to_vec(),
                ));
                self.start = body + len;
            } else if HEADER_LEN + len > self.buffer.len() {
                // Not zeroed: the kernel fills it, in `read_into_spare`.
                let mut payload = Vec::with_capacity(len);
                payload.extend_from_slice(&self.buffer[body..self.end]);
                self.start = 0;
                self.end = 0;
                self.partial = Some((header, payload));
                return Ok(());
            } else {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u32, payload: &[u8]) -> Vec<u8> {
        let header = Header {
            len: payload.len() as u64,
            type_tag: 0,
            context: 1,
            tag,
            source: 3,
            kind: KIND_DATA,
        };
        let mut bytes = bytemuck::bytes_of(&header).to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    /// A connected pair of sockets; the receiving end is non-blocking.
    fn sockets() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let sender = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (receiver, _) = listener.accept().expect("accept");
        receiver.set_nonblocking(true).expect("non-blocking");
        (sender, receiver)
    }

    /// Tries `take_direct` until the frame is there (or a deadline passes).
    fn take(
        reader: &mut FrameReader,
        stream: &mut TcpStream,
        out: &mut [u8],
        tag: u32,
    ) -> Option<Header> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let taken = reader.take_direct(stream, 3, out, &|h: &Header| h.tag == tag);
            if taken.is_some() || Instant::now() > deadline {
                return taken;
            }
            if reader.whole_buffered_frame().is_some() {
                return None;
            }
        }
    }

    #[test]
    fn a_direct_read_takes_only_the_next_whole_accepted_frame() {
        let (mut sender, mut receiver) = sockets();
        let mut reader = FrameReader::new();
        sender.write_all(&frame(7, b"seven")).expect("write");
        let mut out = [0u8; 8];
        let header = take(&mut reader, &mut receiver, &mut out, 7).expect("taken");
        assert_eq!((header.tag, &out[..5]), (7, &b"seven"[..]));

        // Another tag, then one too large for `out`: both are left for the
        // usual path, in order.
        sender.write_all(&frame(8, b"eight")).expect("write");
        sender
            .write_all(&frame(7, b"too large for out"))
            .expect("write");
        assert_eq!(take(&mut reader, &mut receiver, &mut out, 7), None);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            take(&mut reader, &mut receiver, &mut out, 8),
            Some(frame_header(8, 5))
        );
        assert_eq!(take(&mut reader, &mut receiver, &mut out, 7), None);
        let mut events = Vec::new();
        reader
            .read_from(&mut receiver, 3, &mut events)
            .expect("read the rest");
        match events.as_slice() {
            [Event::Message(header, payload)] => {
                assert_eq!(
                    (header.tag, payload.as_slice()),
                    (7, &b"too large for out"[..])
                )
            }
            _ => panic!("expected the large frame, got {} events", events.len()),
        }
    }

    fn frame_header(tag: u32, len: u64) -> Header {
        bytemuck::pod_read_unaligned(&frame(tag, &vec![0; len as usize])[..HEADER_LEN])
    }
}
