//! The progress engine: moves bytes, matches messages to receives, and waits.
//!
//! One engine per process, shared by every communicator. It routes each peer
//! to one transport, and keeps MPI's matching rules: a message goes to the
//! earliest posted receive whose (communicator, source, tag) it fits, else it
//! waits in the unexpected queue, which receives search in arrival order. As
//! every transport keeps one pair's frames in order, messages between a pair
//! with the same tag never overtake each other.
//!
//! Waiting polls briefly (a message often arrives within microseconds), then
//! sleeps in `poll(2)` on the transports' descriptors, so an idle rank does not
//! burn a core that another rank on the same host needs. When a host has more
//! ranks than cores, a waiting rank yields its core between polls instead.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::shm::LentBytes;
use crate::transport::{frame::KIND_DATA, poll, Event, Header, Transport};

/// How long a waiting rank polls before it goes to sleep, when it has a
/// core to itself.
const SPIN: Duration = Duration::from_micros(50);
/// How many times a waiting rank that shares a core gives it away before it
/// goes to sleep.
const YIELDS: u32 = 20;

/// How a rank waits before it sleeps in `poll(2)`.
#[derive(Debug, Clone, Copy)]
enum Patience {
    /// Poll for this long: a message often arrives within microseconds.
    /// (No `spin_loop` hint: on x86 `pause` takes longer than a round of
    /// progress and delays noticing a message.)
    Spin(Duration),
    /// Ranks outnumber cores: polling would keep the rank we wait for off
    /// its core, so poll once per `sched_yield`, which lets a rank waiting
    /// for this core run at once, far cheaper than sleeping and waking.
    Yield(u32),
}

impl Patience {
    /// After `rounds` rounds of progress without success: whether to poll
    /// again rather than sleep.
    fn keep_polling(self, rounds: u32, spin_until: &mut Option<Instant>) -> bool {
        match self {
            Patience::Spin(spin) => {
                // Reading the clock costs as much as a round of progress:
                // look at it only now and then.
                if rounds % CLOCK_EVERY != 0 {
                    return true;
                }
                let now = Instant::now();
                now < *spin_until.get_or_insert(now + spin)
            }
            Patience::Yield(yields) => {
                // SAFETY: sched_yield takes no arguments and cannot fail.
                unsafe { libc::sched_yield() };
                rounds < yields
            }
        }
    }
}
/// How many rounds of progress a waiting rank makes between looks at the clock.
const CLOCK_EVERY: u32 = 64;
/// Longest single sleep; bounded so a lost peer is noticed even without an event.
const SLEEP_MS: i32 = 200;
/// How often (in progress calls) lent messages matched to a receive nobody
/// completes yet are fetched anyway, so their senders can go on.
const FETCH_LENT_INTERVAL: u32 = 4096;

/// A message that has arrived, with its envelope in world ranks.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub source: usize,
    pub context: u32,
    pub tag: u32,
    pub type_tag: u64,
    /// The payload, unless it is still `lent` by its sender.
    pub payload: Vec<u8>,
    pub lent: Option<LentBytes>,
}

impl Incoming {
    /// Payload size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.lent
            .as_ref()
            .map_or(self.payload.len(), LentBytes::len)
    }

    /// Brings a lent payload over into `payload`. On failure the message
    /// stays lent, so every later attempt fails the same way.
    pub(crate) fn fetch(&mut self) -> Result<()> {
        if let Some(lent) = &self.lent {
            self.payload = lent.read().map_err(|reason| Error::PeerLost {
                peer: self.source,
                reason,
            })?;
            self.lent = None;
        }
        Ok(())
    }

    /// Copies the payload into `out`, which holds exactly [`len`](Self::len)
    /// bytes: a lent payload goes there straight from the sender.
    pub(crate) fn copy_into(self, out: &mut [u8]) -> Result<()> {
        match self.lent {
            Some(lent) => lent.read_into(out).map_err(|reason| Error::PeerLost {
                peer: self.source,
                reason,
            }),
            None => {
                out.copy_from_slice(&self.payload);
                Ok(())
            }
        }
    }
}

/// Which messages a receive accepts. `None` means any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern {
    pub context: u32,
    pub source: Option<usize>,
    pub tag: Option<u32>,
}

impl Pattern {
    fn matches(&self, message: &Incoming) -> bool {
        message.context == self.context
            && self.source.is_none_or(|s| s == message.source)
            && self.tag.is_none_or(|t| t == message.tag)
    }
}

/// Identifies a posted receive.
pub(crate) type RecvId = u64;

pub(crate) struct Engine {
    rank: usize,
    size: usize,
    transports: Vec<Box<dyn Transport>>,
    /// `route[peer]`: index into `transports`, `None` for this rank itself.
    route: Vec<Option<usize>>,
    unexpected: VecDeque<Incoming>,
    /// Receives waiting for a message, oldest first.
    posted: Vec<(RecvId, Pattern)>,
    /// Receives whose message has arrived but was not yet taken.
    /// Few at a time (a rank rarely has many receives outstanding): a
    /// vector is faster than hashing.
    matched: Vec<(RecvId, Incoming)>,
    next_recv: RecvId,
    /// Why each peer is gone, if it is.
    lost: Vec<Option<String>>,
    events: Vec<Event>,
    progress_calls: u32,
    patience: Patience,
    /// Collectives' scratch memory, kept between calls (see `collective::scratch`).
    scratch: Vec<u128>,
    on_close: Option<Box<dyn FnOnce() -> Result<()>>>,
}

impl Engine {
    pub(crate) fn new(
        rank: usize,
        size: usize,
        transports: Vec<Box<dyn Transport>>,
        route: Vec<Option<usize>>,
    ) -> Engine {
        Engine {
            rank,
            size,
            transports,
            route,
            unexpected: VecDeque::new(),
            posted: Vec::new(),
            matched: Vec::new(),
            next_recv: 0,
            lost: vec![None; size],
            events: Vec::new(),
            progress_calls: 0,
            patience: Patience::Spin(SPIN),
            scratch: Vec::new(),
            on_close: None,
        }
    }

    /// Makes waits give the core away instead of polling on it: for ranks
    /// that outnumber the cores of their host.
    pub(crate) fn share_cores(&mut self) {
        self.patience = Patience::Yield(YIELDS);
    }

    /// Runs `finish` after the transports are closed (the PMI `finalize`).
    pub(crate) fn set_on_close(&mut self, finish: Box<dyn FnOnce() -> Result<()>>) {
        self.on_close = Some(finish);
    }

    /// The scratch memory kept from earlier collectives (possibly empty).
    pub(crate) fn take_scratch(&mut self) -> Vec<u128> {
        std::mem::take(&mut self.scratch)
    }

    /// Keeps scratch memory for the next collective.
    pub(crate) fn keep_scratch(&mut self, memory: Vec<u128>) {
        if memory.len() > self.scratch.len() {
            self.scratch = memory;
        }
    }

    pub(crate) fn rank(&self) -> usize {
        self.rank
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Starts sending a message; returns once it is written or queued. With
    /// `lend`, the caller keeps `payload` unchanged until
    /// [`is_flushed`](Self::is_flushed) says so (or `dest` is gone), which
    /// lets a large payload be copied once, straight to the receiver.
    pub(crate) fn send(
        &mut self,
        dest: usize,
        context: u32,
        tag: u32,
        type_tag: u64,
        payload: &[u8],
        lend: bool,
    ) -> Result<()> {
        if dest == self.rank {
            self.deliver(Incoming {
                source: dest,
                context,
                tag,
                type_tag,
                payload: payload.to_vec(),
                lent: None,
            });
            return Ok(());
        }
        let transport = self.transport_of(dest)?;
        let header = Header {
            len: payload.len() as u64,
            type_tag,
            context,
            tag,
            source: self.rank as u32,
            kind: KIND_DATA,
        };
        self.transports[transport].send(dest, header, payload, lend)
    }

    /// Waits until everything sent to `dest` has left this process.
    pub(crate) fn wait_flushed(&mut self, dest: usize) -> Result<()> {
        if dest == self.rank {
            return Ok(());
        }
        let transport = self.transport_of(dest)?;
        if self.transports[transport].is_flushed(dest) {
            return Ok(());
        }
        self.wait_until(|engine| {
            if engine.transports[transport].is_flushed(dest) {
                return Ok(Some(()));
            }
            engine.check_alive(dest).map(|()| None)
        })
    }

    /// Whether everything sent to `dest` has left this process, without making
    /// progress; an error if `dest` is gone.
    pub(crate) fn is_flushed(&self, dest: usize) -> Result<bool> {
        if dest == self.rank {
            return Ok(true);
        }
        let transport = self.transport_of(dest)?;
        if self.transports[transport].is_flushed(dest) {
            return Ok(true);
        }
        self.check_alive(dest).map(|()| false)
    }

    /// Posts a receive; the message may already be here.
    pub(crate) fn post(&mut self, pattern: Pattern) -> RecvId {
        let id = self.next_recv;
        self.next_recv += 1;
        match self.unexpected.iter().position(|m| pattern.matches(m)) {
            Some(index) => {
                if let Some(message) = self.unexpected.remove(index) {
                    self.matched.push((id, message));
                }
            }
            None => self.posted.push((id, pattern)),
        }
        id
    }

    /// The shortest way for a blocking receive into `buffer` from one source,
    /// when nothing else waits in the engine (no posted receive, no
    /// unexpected or matched message, nothing unsent to the source), so that
    /// taking the source's next frame directly keeps MPI's matching order.
    /// Polls the source's transport alone a few times (as many as it says);
    /// `None` when the message was not there (or not of this shape): then
    /// receive as usual.
    pub(crate) fn receive_direct(
        &mut self,
        pattern: Pattern,
        type_tag: u64,
        element: usize,
        buffer: &mut [u8],
    ) -> Option<(usize, u32, usize)> {
        let source = pattern.source?;
        let transport = (*self.route.get(source)?)?;
        let polls = self.transports[transport].direct_polls();
        if polls == 0
            || !self.posted.is_empty()
            || !self.unexpected.is_empty()
            || !self.matched.is_empty()
            || self.lost[source].is_some()
            || !self.transports[transport].is_flushed(source)
        {
            return None;
        }
        let accept = |header: &Header| {
            header.context == pattern.context
                && pattern.tag.is_none_or(|tag| tag == header.tag)
                && header.type_tag == type_tag
                && header.len as usize % element.max(1) == 0
        };
        for _ in 0..polls {
            if let Some(header) = self.transports[transport].receive_direct(source, buffer, &accept)
            {
                return Some((source, header.tag, header.len as usize));
            }
        }
        None
    }

    /// Blocks until the posted receive `id` has its message.
    pub(crate) fn wait(&mut self, id: RecvId) -> Result<Incoming> {
        self.wait_until(|engine| engine.take_or_fail(id))
    }

    /// Withdraws a posted receive. A message already matched to it goes back
    /// to the front of the unexpected queue, so it is not lost.
    pub(crate) fn cancel(&mut self, id: RecvId) {
        self.posted.retain(|(posted, _)| *posted != id);
        if let Some(message) = self.take_matched(id) {
            self.unexpected.push_front(message);
        }
    }

    /// The envelope of the first unexpected message fitting `pattern`, if any.
    pub(crate) fn probe(&mut self, pattern: Pattern) -> Result<Option<(usize, u32, usize)>> {
        self.progress()?;
        Ok(self
            .unexpected
            .iter()
            .find(|m| pattern.matches(m))
            .map(|m| (m.source, m.tag, m.len())))
    }

    /// Blocks until a message fitting `pattern` is available, without receiving it.
    pub(crate) fn wait_probe(&mut self, pattern: Pattern) -> Result<(usize, u32, usize)> {
        self.wait_until(|engine| {
            if let Some(found) = engine
                .unexpected
                .iter()
                .find(|m| pattern.matches(m))
                .map(|m| (m.source, m.tag, m.len()))
            {
                return Ok(Some(found));
            }
            match pattern.source {
                Some(source) => engine.check_alive(source).map(|()| None),
                None => Ok(None),
            }
        })
    }

    /// The message of a posted receive if it has arrived, without making
    /// progress; an error if its source is gone.
    pub(crate) fn take_or_fail(&mut self, id: RecvId) -> Result<Option<Incoming>> {
        if let Some(message) = self.take_matched(id) {
            return Ok(Some(message));
        }
        let source = self
            .posted
            .iter()
            .find(|(posted, _)| *posted == id)
            .and_then(|(_, pattern)| pattern.source);
        if let Some(source) = source {
            if let Err(error) = self.check_alive(source) {
                self.cancel(id);
                return Err(error);
            }
        }
        Ok(None)
    }

    fn take_matched(&mut self, id: RecvId) -> Option<Incoming> {
        let index = self
            .matched
            .iter()
            .position(|(matched, _)| *matched == id)?;
        Some(self.matched.remove(index).1)
    }

    fn check_alive(&self, peer: usize) -> Result<()> {
        match &self.lost[peer] {
            Some(reason) => Err(Error::PeerLost {
                peer,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    fn transport_of(&self, peer: usize) -> Result<usize> {
        match self.route.get(peer) {
            Some(Some(index)) => Ok(*index),
            _ => Err(Error::RankOutOfRange {
                rank: peer,
                size: self.size,
            }),
        }
    }

    /// Reads and writes whatever every transport can without blocking.
    pub(crate) fn progress(&mut self) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        for transport in &mut self.transports {
            transport.progress(&mut events)?;
        }
        for event in events.drain(..) {
            match event {
                Event::Message(header, payload) => self.deliver(incoming(header, payload, None)),
                Event::Lent(header, lent) => self.deliver(incoming(header, Vec::new(), Some(lent))),
                Event::Lost { peer, reason } => {
                    if let Some(slot) = self.lost.get_mut(peer) {
                        slot.get_or_insert(reason);
                    }
                }
            }
        }
        self.events = events;
        self.progress_calls = self.progress_calls.wrapping_add(1);
        if self.progress_calls % FETCH_LENT_INTERVAL == 0 {
            self.fetch_lent();
        }
        Ok(())
    }

    fn deliver(&mut self, mut message: Incoming) {
        match self.posted.iter().position(|(_, p)| p.matches(&message)) {
            Some(index) => {
                let (id, _) = self.posted.remove(index);
                self.matched.push((id, message));
            }
            None => {
                // Nobody waits for it yet: fetch a lent payload now, so its
                // sender is not held up by a receive that may come late.
                // A failure shows when the message is received.
                let _ = message.fetch();
                self.unexpected.push_back(message);
            }
        }
    }

    /// Fetches every lent payload that is matched but not yet taken, so no
    /// sender waits on a receiver that is busy waiting for something else.
    /// A failure shows when the message is taken.
    fn fetch_lent(&mut self) {
        for (_, message) in &mut self.matched {
            let _ = message.fetch();
        }
    }

    /// Makes progress until `check` returns a value: spins for a moment, then
    /// sleeps on the transports' descriptors.
    pub(crate) fn wait_until<T>(
        &mut self,
        mut check: impl FnMut(&mut Engine) -> Result<Option<T>>,
    ) -> Result<T> {
        let mut spin_until = None;
        let mut rounds = 0u32;
        let mut fds = Vec::new();
        loop {
            self.progress()?;
            if let Some(value) = check(self)? {
                return Ok(value);
            }
            rounds = rounds.wrapping_add(1);
            if self.patience.keep_polling(rounds, &mut spin_until) {
                continue;
            }
            self.fetch_lent();
            fds.clear();
            let mut may_sleep = true;
            for transport in &mut self.transports {
                may_sleep &= transport.prepare_to_sleep(&mut fds);
            }
            if may_sleep && fds.is_empty() {
                return Err(Error::InvalidArgument(
                    "this operation would wait forever: no other rank can answer it".to_string(),
                ));
            }
            if may_sleep {
                poll(&mut fds, SLEEP_MS);
            }
            for transport in &mut self.transports {
                transport.woke();
            }
        }
    }
}

/// An arrived message from its frame header.
fn incoming(header: Header, payload: Vec<u8>, lent: Option<LentBytes>) -> Incoming {
    Incoming {
        source: header.source as usize,
        context: header.context,
        tag: header.tag,
        type_tag: header.type_tag,
        payload,
        lent,
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Messages nobody received release what their senders lent first:
        // two ranks closing must not wait for each other to read them.
        self.unexpected.clear();
        self.matched.clear();
        for transport in &mut self.transports {
            if let Err(error) = transport.close() {
                eprintln!("bramble: rank {}: closing connections: {error}", self.rank);
            }
        }
        if let Some(finish) = self.on_close.take() {
            if let Err(error) = finish() {
                eprintln!("bramble: rank {}: finalize: {error}", self.rank);
            }
        }
    }
}
