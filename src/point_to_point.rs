//! Point-to-point messages: one rank sends, one rank receives.
//!
//! Two kinds of message, like mpi4py: any serde value (`send`/`recv`, the
//! lowercase mpi4py API), and slices of plain data (`send_slice`/`recv_into`,
//! the buffer API) received straight into the caller's buffer. Each message
//! carries a fingerprint of its Rust type, so receiving it as another type is
//! an [`Error::TypeMismatch`], never garbage.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::communicator::Communicator;
use crate::engine::{Engine, Incoming, Pattern, RecvId};
use crate::error::{Error, Result};
pub(crate) use crate::fingerprint::{slice_type_tag, value_type_tag};
use crate::request::Request;

/// A message tag. Any value is allowed; [`ANY_TAG`] matches them all in receives.
pub type Tag = u32;

/// Where a receive accepts messages from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Rank(usize),
    Any,
}

/// Which tags a receive accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSelector {
    Tag(Tag),
    Any,
}

/// Serde values up to this size may be received the short way, through a
/// buffer on the stack.
const DIRECT_VALUE_BYTES: usize = 256;

/// Receive from whichever rank sends first.
pub const ANY_SOURCE: Source = Source::Any;
/// Receive a message with any tag.
pub const ANY_TAG: TagSelector = TagSelector::Any;

impl From<usize> for Source {
    fn from(rank: usize) -> Self {
        Source::Rank(rank)
    }
}

impl From<Tag> for TagSelector {
    fn from(tag: Tag) -> Self {
        TagSelector::Tag(tag)
    }
}

/// What a completed receive tells about its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Rank of the sender in the communicator.
    pub source: usize,
    pub tag: Tag,
    /// Payload size in bytes.
    pub bytes: usize,
}

impl Status {
    /// How many elements of `T` the message holds (for slice messages).
    pub fn count<T>(&self) -> usize {
        self.bytes / std::mem::size_of::<T>().max(1)
    }
}

pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| Error::Codec {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

pub(crate) fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    postcard::from_bytes(payload).map_err(|e| Error::Codec {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Waits for the message of a posted receive. If the wait fails, the receive
/// is withdrawn, so that a later message cannot match a receive nobody waits for.
pub(crate) fn wait_posted(engine: &mut Engine, id: RecvId) -> Result<Incoming> {
    let result = engine.wait(id);
    if result.is_err() {
        engine.cancel(id);
    }
    result
}

impl Communicator {
    pub(crate) fn pattern(
        &self,
        context: u32,
        source: Source,
        tag: TagSelector,
    ) -> Result<Pattern> {
        Ok(Pattern {
            context,
            source: match source {
                Source::Rank(rank) => Some(self.world_rank(rank)?),
                Source::Any => None,
            },
            tag: match tag {
                TagSelector::Tag(tag) => Some(tag),
                TagSelector::Any => None,
            },
        })
    }

    /// A blocking receive the short way, when the engine allows it (see
    /// `Engine::receive_direct`): the message's payload is in `buffer`.
    fn receive_direct(
        &self,
        source: Source,
        tag: TagSelector,
        type_tag: u64,
        element: usize,
        buffer: &mut [u8],
    ) -> Result<Option<Status>> {
        let pattern = self.pattern(self.context, source, tag)?;
        let direct = self
            .engine
            .borrow_mut()
            .receive_direct(pattern, type_tag, element, buffer);
        direct
            .map(|(world_source, tag, bytes)| {
                Ok(Status {
                    source: self.local_rank(world_source)?,
                    tag,
                    bytes,
                })
            })
            .transpose()
    }

    fn status_of(&self, message: &Incoming) -> Result<Status> {
        Ok(Status {
            source: self.local_rank(message.source)?,
            tag: message.tag,
            bytes: message.len(),
        })
    }

    pub(crate) fn check_type(
        &self,
        message: &Incoming,
        expected: u64,
        name: &'static str,
    ) -> Result<()> {
        if message.type_tag == expected {
            return Ok(());
        }
        Err(Error::TypeMismatch {
            source_rank: self.local_rank(message.source)?,
            tag: message.tag,
            expected: name,
        })
    }

    /// Sends raw bytes with a type tag on `context`, waiting until they have left.
    pub(crate) fn send_bytes(
        &self,
        context: u32,
        dest: usize,
        tag: Tag,
        type_tag: u64,
        payload: &[u8],
    ) -> Result<()> {
        let dest = self.world_rank(dest)?;
        let mut engine = self.engine.borrow_mut();
        // The payload is borrowed until it has left: it may be lent.
        engine.send(dest, context, tag, type_tag, payload, true)?;
        engine.wait_flushed(dest)
    }

    /// Receives one message on `context`.
    pub(crate) fn recv_message(
        &self,
        context: u32,
        source: Source,
        tag: TagSelector,
    ) -> Result<Incoming> {
        let pattern = self.pattern(context, source, tag)?;
        let mut engine = self.engine.borrow_mut();
        let id = engine.post(pattern);
        wait_posted(&mut engine, id)
    }

    /// Sends a serde value to rank `dest`. Returns when the message has left
    /// this process (it is then safe to reuse or drop `value`).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// if world.rank() == 0 {
    ///     world.send(&("hello", 42), 1, 7)?;
    /// } else if world.rank() == 1 {
    ///     let (word, n): (String, i32) = world.recv(0, 7)?;
    ///     assert_eq!((word.as_str(), n), ("hello", 42));
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, value: &T, dest: usize, tag: Tag) -> Result<()> {
        let payload = encode(value)?;
        self.send_bytes(self.context, dest, tag, value_type_tag::<T>(), &payload)
    }

    /// Receives a serde value. `source` is a rank or [`ANY_SOURCE`], `tag` a
    /// tag or [`ANY_TAG`].
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// if world.rank() == 1 {
    ///     world.send(&vec![1.5, 2.5], 0, 7)?;
    /// } else if world.rank() == 0 {
    ///     let v: Vec<f64> = world.recv(1, 7)?; // another type: Err(TypeMismatch)
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn recv<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<T> {
        self.recv_with_status(source, tag).map(|(value, _)| value)
    }

    /// Receives a serde value and tells who sent it, with which tag.
    ///
    /// ```no_run
    /// use bramble::{ANY_SOURCE, ANY_TAG};
    /// let world = bramble::init()?;
    /// if world.rank() == 0 {
    ///     for _ in 1..world.size() {
    ///         let (word, status): (String, _) = world.recv_with_status(ANY_SOURCE, ANY_TAG)?;
    ///         println!("{word} from rank {} (tag {})", status.source, status.tag);
    ///     }
    /// } else {
    ///     world.send("ready", 0, world.rank() as u32)?;
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn recv_with_status<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<(T, Status)> {
        let (source, tag) = (source.into(), tag.into());
        // Small values may come the short way (see `recv_into`), through a
        // buffer on the stack.
        let mut small = [0u8; DIRECT_VALUE_BYTES];
        if let Some(status) =
            self.receive_direct(source, tag, value_type_tag::<T>(), 1, &mut small)?
        {
            return Ok((decode(&small[..status.bytes])?, status));
        }
        let message = self.recv_message(self.context, source, tag)?;
        self.open_value(message)
    }

    pub(crate) fn open_value<T: DeserializeOwned>(
        &self,
        mut message: Incoming,
    ) -> Result<(T, Status)> {
        self.check_type(&message, value_type_tag::<T>(), std::any::type_name::<T>())?;
        let status = self.status_of(&message)?;
        message.fetch()?;
        Ok((decode(&message.payload)?, status))
    }

    /// Sends a slice of plain data (numbers, `#[derive(Pod)]` structs) without
    /// serializing it.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// if world.rank() == 0 {
    ///     world.send_slice(&[1.0f64, 2.0, 3.0], 1, 0)?;
    /// } else if world.rank() == 1 {
    ///     let mut buffer = [0.0f64; 3];
    ///     world.recv_into(&mut buffer, 0, 0)?;
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn send_slice<T: Pod>(&self, data: &[T], dest: usize, tag: Tag) -> Result<()> {
        self.send_bytes(
            self.context,
            dest,
            tag,
            slice_type_tag::<T>(),
            bytemuck::cast_slice(data),
        )
    }

    /// Receives a slice message into `buffer`. The message may be shorter than
    /// the buffer ([`Status::count`] says how many elements arrived); a longer
    /// one is an [`Error::Truncated`] and leaves `buffer` untouched.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// if world.rank() == 1 {
    ///     world.send_slice(&[7u32; 5], 0, 0)?;
    /// } else if world.rank() == 0 {
    ///     let mut buffer = [0u32; 16]; // a larger buffer is fine
    ///     let status = world.recv_into(&mut buffer, 1, 0)?;
    ///     assert_eq!(status.count::<u32>(), 5);
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn recv_into<T: Pod>(
        &self,
        buffer: &mut [T],
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<Status> {
        let (source, tag) = (source.into(), tag.into());
        let element = std::mem::size_of::<T>();
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(buffer);
        if let Some(status) =
            self.receive_direct(source, tag, slice_type_tag::<T>(), element, bytes)?
        {
            return Ok(status);
        }
        let message = self.recv_message(self.context, source, tag)?;
        self.open_slice(message, buffer)
    }

    pub(crate) fn open_slice<T: Pod>(&self, message: Incoming, buffer: &mut [T]) -> Result<Status> {
        self.check_type(&message, slice_type_tag::<T>(), std::any::type_name::<T>())?;
        let status = self.status_of(&message)?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(buffer);
        let len = message.len();
        if len > bytes.len() {
            return Err(Error::Truncated {
                source_rank: status.source,
                tag: status.tag,
                received: len,
                capacity: bytes.len(),
            });
        }
        if len % std::mem::size_of::<T>().max(1) != 0 {
            return Err(Error::Protocol {
                peer: message.source,
                reason: "slice message is not a whole number of elements".to_string(),
            });
        }
        message.copy_into(&mut bytes[..len])?;
        Ok(status)
    }

    /// Starts sending a serde value and returns at once. The value is copied,
    /// so the caller may change it immediately; `wait` on the request to know
    /// the message has left this process. Dropping the request is fine: the
    /// message goes out regardless.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let request = world.isend(&vec![1u8, 2, 3], 0, 5)?;
    /// if world.rank() == 0 {
    ///     let (bytes, _status): (Vec<u8>, _) = world.recv_with_status(bramble::ANY_SOURCE, 5)?;
    ///     println!("{bytes:?}");
    /// }
    /// request.wait()?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn isend<T: Serialize + ?Sized>(
        &self,
        value: &T,
        dest: usize,
        tag: Tag,
    ) -> Result<Request<'static, ()>> {
        let payload = encode(value)?;
        // The encoded copy goes away now, so it cannot be lent.
        let world_dest = self.start_send(dest, tag, value_type_tag::<T>(), &payload, false)?;
        Ok(Request::send(self, world_dest, (), false))
    }

    /// Starts sending a slice of plain data and returns at once. The request
    /// borrows `data` until it completes, so that a large slice can go to a
    /// rank on the same host with a single copy, straight out of `data`;
    /// dropping an unfinished request waits for it to complete. (Leaking the
    /// request with `mem::forget` and changing `data` may deliver the changed
    /// data; it cannot corrupt memory.)
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let next = (world.rank() + 1) % world.size();
    /// let data = [world.rank() as u64; 1000];
    /// let request = world.isend_slice(&data, next, 0)?;
    /// // ... compute while the data goes out ...
    /// request.wait()?;
    /// # let _ = world.recv_into(&mut [0u64; 1000], bramble::ANY_SOURCE, 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn isend_slice<'a, T: Pod>(
        &self,
        data: &'a [T],
        dest: usize,
        tag: Tag,
    ) -> Result<Request<'a, ()>> {
        let payload = bytemuck::cast_slice(data);
        let world_dest = self.start_send(dest, tag, slice_type_tag::<T>(), payload, true)?;
        Ok(Request::send(self, world_dest, (), true))
    }

    /// Hands a message to the engine; returns the destination's world rank.
    /// With `lend`, the caller's request must borrow `payload` until it completes.
    fn start_send(
        &self,
        dest: usize,
        tag: Tag,
        type_tag: u64,
        payload: &[u8],
        lend: bool,
    ) -> Result<usize> {
        let world_dest = self.world_rank(dest)?;
        self.engine
            .borrow_mut()
            .send(world_dest, self.context, tag, type_tag, payload, lend)?;
        Ok(world_dest)
    }

    /// Posts a receive for a serde value and returns at once; the request
    /// yields the value and its [`Status`].
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let request = world.irecv::<String>(bramble::ANY_SOURCE, bramble::ANY_TAG)?;
    /// world.send("hello", world.rank(), 3)?;
    /// let (text, status) = request.wait()?;
    /// assert_eq!((text.as_str(), status.tag), ("hello", 3));
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn irecv<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<Request<'static, (T, Status)>> {
        let pattern = self.pattern(self.context, source.into(), tag.into())?;
        let id = self.engine.borrow_mut().post(pattern);
        let comm = self.clone();
        Ok(Request::recv(self, id, move |message| {
            comm.open_value(message)
        }))
    }

    /// Posts a receive of a slice message into `buffer` and returns at once.
    /// The message is copied into `buffer` when the request completes; the
    /// request borrows `buffer` until then. A message longer than `buffer` is
    /// an [`Error::Truncated`] when the request completes.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut buffer = [0i32; 8];
    /// let request = world.irecv_into(&mut buffer, 0, 1)?;
    /// if world.rank() == 0 {
    ///     for dest in 0..world.size() {
    ///         world.send_slice(&[1, 2, 3], dest, 1)?;
    ///     }
    /// }
    /// let status = request.wait()?;
    /// assert_eq!(&buffer[..status.count::<i32>()], &[1, 2, 3]);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn irecv_into<'a, T: Pod>(
        &self,
        buffer: &'a mut [T],
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<Request<'a, Status>> {
        let pattern = self.pattern(self.context, source.into(), tag.into())?;
        let id = self.engine.borrow_mut().post(pattern);
        let comm = self.clone();
        Ok(Request::recv(self, id, move |message| {
            comm.open_slice(message, buffer)
        }))
    }

    /// Sends `value` to `dest` and receives a value from `source` at the same
    /// time, so two ranks can exchange with each other (even large messages)
    /// without deadlock.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// let partner = rank ^ 1;
    /// if partner < size {
    ///     let theirs: Vec<u64> = world.sendrecv(&vec![rank as u64; 100_000], partner, 0, partner, 0)?.0;
    ///     assert_eq!(theirs[0], partner as u64);
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn sendrecv<S: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &S,
        dest: usize,
        send_tag: Tag,
        source: impl Into<Source>,
        recv_tag: impl Into<TagSelector>,
    ) -> Result<(R, Status)> {
        let receive = self.irecv(source, recv_tag)?;
        self.isend(value, dest, send_tag)?.wait()?;
        receive.wait()
    }

    /// Sends a slice to `dest` while receiving a slice from `source` into
    /// `buffer` (see [`sendrecv`](Self::sendrecv) and [`recv_into`](Self::recv_into)).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// let mut from_left = [0.0f64; 3];
    /// world.sendrecv_slice(&[rank as f64; 3], (rank + 1) % size, 0, &mut from_left, (rank + size - 1) % size, 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn sendrecv_slice<S: Pod, R: Pod>(
        &self,
        data: &[S],
        dest: usize,
        send_tag: Tag,
        buffer: &mut [R],
        source: impl Into<Source>,
        recv_tag: impl Into<TagSelector>,
    ) -> Result<Status> {
        let receive = self.irecv_into(buffer, source, recv_tag)?;
        self.isend_slice(data, dest, send_tag)?.wait()?;
        receive.wait()
    }

    /// Sends `data` to `dest` and replaces it with a slice message of the
    /// same type from `source` (as `MPI_Sendrecv_replace`): shifting data
    /// around a ring or a grid without a second buffer. No deadlock, as
    /// [`sendrecv`](Self::sendrecv).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let (rank, size) = (world.rank(), world.size());
    /// let mut block = [rank as f64; 8];
    /// // Shift every block one rank to the right.
    /// world.sendrecv_replace_slice(&mut block, (rank + 1) % size, 0, (rank + size - 1) % size, 0)?;
    /// assert_eq!(block[0], ((rank + size - 1) % size) as f64);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn sendrecv_replace_slice<T: Pod>(
        &self,
        data: &mut [T],
        dest: usize,
        send_tag: Tag,
        source: impl Into<Source>,
        recv_tag: impl Into<TagSelector>,
    ) -> Result<Status> {
        // The send needs its own copy: the receive may overwrite `data`
        // before the send completes.
        let outgoing = data.to_vec();
        let send = self.isend_slice(&outgoing, dest, send_tag)?;
        let status = self.irecv_into(data, source, recv_tag)?.wait()?;
        send.wait()?;
        Ok(status)
    }

    /// Whether a message fitting `source` and `tag` has arrived; does not receive it.
    ///
    /// ```no_run
    /// use bramble::{ANY_SOURCE, ANY_TAG};
    /// let world = bramble::init()?;
    /// while let Some(status) = world.iprobe(ANY_SOURCE, ANY_TAG)? {
    ///     let _: String = world.recv(status.source, status.tag)?;
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn iprobe(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<Option<Status>> {
        let pattern = self.pattern(self.context, source.into(), tag.into())?;
        let found = self.engine.borrow_mut().probe(pattern)?;
        found
            .map(|(source, tag, bytes)| {
                Ok(Status {
                    source: self.local_rank(source)?,
                    tag,
                    bytes,
                })
            })
            .transpose()
    }

    /// Waits for a message fitting `source` and `tag`; does not receive it.
    /// Use it to size the buffer of a slice message of unknown length.
    ///
    /// ```no_run
    /// use bramble::ANY_SOURCE;
    /// let world = bramble::init()?;
    /// if world.rank() == 0 {
    ///     let status = world.probe(ANY_SOURCE, 0)?;
    ///     let mut buffer = vec![0i32; status.count::<i32>()];
    ///     world.recv_into(&mut buffer, status.source, 0)?;
    /// } else {
    ///     world.send_slice(&vec![1i32; world.rank()], 0, 0)?;
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn probe(&self, source: impl Into<Source>, tag: impl Into<TagSelector>) -> Result<Status> {
        let pattern = self.pattern(self.context, source.into(), tag.into())?;
        let (source, tag, bytes) = self.engine.borrow_mut().wait_probe(pattern)?;
        Ok(Status {
            source: self.local_rank(source)?,
            tag,
            bytes,
        })
    }
}
