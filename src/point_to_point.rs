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
use crate::engine::{Incoming, Pattern, RecvId};
use crate::error::{Error, Result};

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

/// Fingerprint of a type, the same in every process built from the same code.
fn fingerprint(kind: &str, name: &str) -> u64 {
    // FNV-1a: tiny, stable, good enough to tell types apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.bytes().chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

pub(crate) fn value_type_tag<T: ?Sized>() -> u64 {
    fingerprint("value:", std::any::type_name::<T>())
}

pub(crate) fn slice_type_tag<T>() -> u64 {
    fingerprint("slice:", std::any::type_name::<T>())
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

impl Communicator {
    fn pattern(&self, context: u32, source: Source, tag: TagSelector) -> Result<Pattern> {
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

    fn status_of(&self, message: &Incoming) -> Result<Status> {
        Ok(Status {
            source: self.local_rank(message.source)?,
            tag: message.tag,
            bytes: message.payload.len(),
        })
    }

    fn check_type(&self, message: &Incoming, expected: u64, name: &'static str) -> Result<()> {
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
        engine.send(dest, context, tag, type_tag, payload)?;
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
        engine.wait(id)
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
    pub fn recv<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<T> {
        self.recv_with_status(source, tag).map(|(value, _)| value)
    }

    /// Receives a serde value and tells who sent it, with which tag.
    pub fn recv_with_status<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<(T, Status)> {
        let message = self.recv_message(self.context, source.into(), tag.into())?;
        self.open_value(message)
    }

    fn open_value<T: DeserializeOwned>(&self, message: Incoming) -> Result<(T, Status)> {
        self.check_type(&message, value_type_tag::<T>(), std::any::type_name::<T>())?;
        let status = self.status_of(&message)?;
        Ok((decode(&message.payload)?, status))
    }

    /// Sends a slice of plain data (numbers, `#[derive(Pod)]` structs) without
    /// serializing it.
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
    pub fn recv_into<T: Pod>(
        &self,
        buffer: &mut [T],
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<Status> {
        let message = self.recv_message(self.context, source.into(), tag.into())?;
        self.open_slice(message, buffer)
    }

    fn open_slice<T: Pod>(&self, message: Incoming, buffer: &mut [T]) -> Result<Status> {
        self.check_type(&message, slice_type_tag::<T>(), std::any::type_name::<T>())?;
        let status = self.status_of(&message)?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(buffer);
        if message.payload.len() > bytes.len() {
            return Err(Error::Truncated {
                source_rank: status.source,
                tag: status.tag,
                received: message.payload.len(),
                capacity: bytes.len(),
            });
        }
        if message.payload.len() % std::mem::size_of::<T>().max(1) != 0 {
            return Err(Error::Protocol {
                peer: message.source,
                reason: "slice message is not a whole number of elements".to_string(),
            });
        }
        bytes[..message.payload.len()].copy_from_slice(&message.payload);
        Ok(status)
    }

    /// Starts sending a serde value and returns at once. The value is copied,
    /// so the caller may change it immediately; `wait` on the request to know
    /// the message has left this process.
    pub fn isend<T: Serialize + ?Sized>(
        &self,
        value: &T,
        dest: usize,
        tag: Tag,
    ) -> Result<SendRequest> {
        let payload = encode(value)?;
        let world_dest = self.world_rank(dest)?;
        self.engine.borrow_mut().send(
            world_dest,
            self.context,
            tag,
            value_type_tag::<T>(),
            &payload,
        )?;
        Ok(SendRequest {
            comm: self.clone(),
            dest: world_dest,
        })
    }

    /// Posts a receive for a serde value and returns at once.
    pub fn irecv<T: DeserializeOwned>(
        &self,
        source: impl Into<Source>,
        tag: impl Into<TagSelector>,
    ) -> Result<RecvRequest<T>> {
        let pattern = self.pattern(self.context, source.into(), tag.into())?;
        let id = self.engine.borrow_mut().post(pattern);
        Ok(RecvRequest {
            comm: self.clone(),
            id: Some(id),
            _type: std::marker::PhantomData,
        })
    }

    /// Whether a message fitting `source` and `tag` has arrived; does not receive it.
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

/// A send in progress. Dropping it is fine: the message goes out regardless.
#[must_use = "wait on the request to know the message has left"]
pub struct SendRequest {
    comm: Communicator,
    dest: usize,
}

impl SendRequest {
    /// Blocks until the message has left this process.
    pub fn wait(self) -> Result<()> {
        self.comm.engine.borrow_mut().wait_flushed(self.dest)
    }
}

/// A receive in progress. Dropping it before completion withdraws it; a
/// message it had already matched stays available to later receives.
#[must_use = "wait on the request to get the message"]
pub struct RecvRequest<T> {
    comm: Communicator,
    id: Option<RecvId>,
    _type: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> RecvRequest<T> {
    /// Blocks until the message has arrived and returns it.
    pub fn wait(mut self) -> Result<(T, Status)> {
        let Some(id) = self.id.take() else {
            return Err(Error::InvalidArgument("request already completed".into()));
        };
        let message = self.comm.engine.borrow_mut().wait(id)?;
        self.comm.open_value(message)
    }

    /// The message, if it has arrived; `Ok(None)` means "not yet".
    pub fn test(&mut self) -> Result<Option<(T, Status)>> {
        let Some(id) = self.id else {
            return Err(Error::InvalidArgument("request already completed".into()));
        };
        let found = self.comm.engine.borrow_mut().test(id)?;
        match found {
            Some(message) => {
                self.id = None;
                self.comm.open_value(message).map(Some)
            }
            None => Ok(None),
        }
    }
}

impl<T> Drop for RecvRequest<T> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            if let Ok(mut engine) = self.comm.engine.try_borrow_mut() {
                engine.cancel(id);
            }
        }
    }
}
