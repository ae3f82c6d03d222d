//! How a collective talks: its messages travel on the communicator's
//! collective context with the operation's own tag and the element type's
//! fingerprint, and a [`Codec`] turns values into bytes and back.

use std::borrow::Cow;
use std::marker::PhantomData;

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::scratch::Scratch;
use crate::communicator::Communicator;
use crate::engine::Incoming;
use crate::error::{Error, Result};
use crate::point_to_point::{decode, encode, slice_type_tag, value_type_tag, wait_posted, Source};

/// Turns the values a collective moves into bytes and back.
pub(crate) trait Codec {
    type Value;
    /// Fingerprint of the element type, checked on every message.
    fn type_tag(&self) -> u64;
    fn type_name(&self) -> &'static str;
    fn encode<'v>(&self, value: &'v Self::Value) -> Result<Cow<'v, [u8]>>;
    fn decode(&self, bytes: &[u8]) -> Result<Self::Value>;
}

/// Serde values, encoded with postcard (the mpi4py lowercase API).
pub(crate) struct Serde<T>(PhantomData<fn() -> T>);

/// Vectors of plain data, sent as their raw bytes (the buffer API).
pub(crate) struct Plain<T>(PhantomData<fn() -> T>);

impl<T> Serde<T> {
    pub(crate) fn new() -> Self {
        Serde(PhantomData)
    }
}

impl<T> Plain<T> {
    pub(crate) fn new() -> Self {
        Plain(PhantomData)
    }
}

impl<T: Serialize + DeserializeOwned> Codec for Serde<T> {
    type Value = T;
    fn type_tag(&self) -> u64 {
        value_type_tag::<T>()
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
    fn encode<'v>(&self, value: &'v T) -> Result<Cow<'v, [u8]>> {
        encode(value).map(Cow::Owned)
    }
    fn decode(&self, bytes: &[u8]) -> Result<T> {
        decode(bytes)
    }
}

impl<T: Pod> Codec for Plain<T> {
    type Value = Vec<T>;
    fn type_tag(&self) -> u64 {
        slice_type_tag::<T>()
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
    fn encode<'v>(&self, value: &'v Vec<T>) -> Result<Cow<'v, [u8]>> {
        Ok(Cow::Borrowed(bytemuck::cast_slice(value)))
    }
    fn decode(&self, bytes: &[u8]) -> Result<Vec<T>> {
        if bytes.len() % std::mem::size_of::<T>().max(1) != 0 {
            return Err(Error::InvalidArgument(format!(
                "a collective received {} bytes, not a whole number of {} elements: every rank must pass the same element type",
                bytes.len(),
                std::any::type_name::<T>()
            )));
        }
        // Copies into a fresh vector, which is aligned for `T` as the bytes may not be.
        let mut values = vec![T::zeroed(); bytes.len() / std::mem::size_of::<T>().max(1)];
        bytemuck::cast_slice_mut::<T, u8>(&mut values).copy_from_slice(bytes);
        Ok(values)
    }
}

/// One collective operation's messages on a communicator.
pub(crate) struct Channel<'c, C> {
    comm: &'c Communicator,
    pub codec: C,
    tag: u32,
}

impl<'c, C: Codec> Channel<'c, C> {
    pub(crate) fn new(comm: &'c Communicator, tag: u32, codec: C) -> Self {
        Channel { comm, codec, tag }
    }

    pub(crate) fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// At least `bytes` of scratch memory, reused across collective calls.
    pub(crate) fn scratch(&self, bytes: usize) -> Scratch {
        Scratch::borrow(&self.comm.engine, bytes)
    }

    pub(crate) fn size(&self) -> usize {
        self.comm.size()
    }

    /// Sends bytes to `dest` and waits until they have left this process.
    pub(crate) fn send_bytes(&self, dest: usize, bytes: &[u8]) -> Result<()> {
        self.comm.send_bytes(
            self.comm.collective_context(),
            dest,
            self.tag,
            self.codec.type_tag(),
            bytes,
        )
    }

    /// A message of this operation that starts here, as if received from this rank.
    pub(crate) fn outgoing(&self, payload: Vec<u8>) -> Result<Incoming> {
        Ok(Incoming {
            source: self.comm.world_rank(self.comm.rank())?,
            context: self.comm.collective_context(),
            tag: self.tag,
            type_tag: self.codec.type_tag(),
            payload,
            lent: None,
        })
    }

    /// Passes a received message on to `dest` unchanged, type fingerprint included.
    pub(crate) fn forward(&self, dest: usize, message: &Incoming) -> Result<()> {
        self.comm.send_bytes(
            self.comm.collective_context(),
            dest,
            self.tag,
            message.type_tag,
            &message.payload,
        )
    }

    /// Receives this operation's next message from `source`.
    pub(crate) fn recv_bytes(&self, source: usize) -> Result<Vec<u8>> {
        let message = self.recv_unchecked(source)?;
        self.check_type(&message)?;
        Ok(message.payload)
    }

    /// Receives this operation's next message from `source` without checking
    /// its element type yet (see [`check_type`](Self::check_type)).
    pub(crate) fn recv_unchecked(&self, source: usize) -> Result<Incoming> {
        let mut message = self.comm.recv_message(
            self.comm.collective_context(),
            Source::Rank(source),
            self.tag.into(),
        )?;
        message.fetch()?;
        Ok(message)
    }

    /// Fails if `message` holds another element type than this collective's.
    pub(crate) fn check_type(&self, message: &Incoming) -> Result<()> {
        self.comm
            .check_type(message, self.codec.type_tag(), self.codec.type_name())
    }

    /// Sends to `dest` while receiving from `source`, so pairs and rings of
    /// ranks exchange without deadlock whatever the message sizes.
    pub(crate) fn exchange_bytes(
        &self,
        dest: usize,
        bytes: &[u8],
        source: usize,
    ) -> Result<Vec<u8>> {
        self.exchange_message(dest, bytes, source, |mut message| {
            message.fetch()?;
            self.check_type(&message)?;
            Ok(message.payload)
        })
    }

    /// As [`exchange_bytes`](Self::exchange_bytes), receiving straight into
    /// `out`, which the message must fill exactly.
    pub(crate) fn exchange_into(
        &self,
        dest: usize,
        bytes: &[u8],
        source: usize,
        out: &mut [u8],
    ) -> Result<()> {
        self.exchange_message(dest, bytes, source, |message| {
            self.check_type(&message)?;
            if message.len() != out.len() {
                return Err(Error::Protocol {
                    peer: message.source,
                    reason: format!(
                        "a collective block of {} bytes where {} were expected: do all ranks pass slices of the same length?",
                        message.len(),
                        out.len()
                    ),
                });
            }
            message.copy_into(out)
        })
    }

    /// Posts the receive from `source`, sends `bytes` to `dest` (lent: they
    /// stay borrowed until sent), waits for the message and hands it to
    /// `take`, then waits until our own message has left.
    fn exchange_message<R>(
        &self,
        dest: usize,
        bytes: &[u8],
        source: usize,
        take: impl FnOnce(Incoming) -> Result<R>,
    ) -> Result<R> {
        let context = self.comm.collective_context();
        let world_dest = self.comm.world_rank(dest)?;
        let pattern = self
            .comm
            .pattern(context, Source::Rank(source), self.tag.into())?;
        let mut engine = self.comm.engine.borrow_mut();
        let id = engine.post(pattern);
        if let Err(error) = engine.send(
            world_dest,
            context,
            self.tag,
            self.codec.type_tag(),
            bytes,
            true,
        ) {
            engine.cancel(id);
            return Err(error);
        }
        // Read what the source lent before waiting for our own send: it may
        // be waiting for us in just the same way.
        let taken = take(wait_posted(&mut engine, id)?);
        engine.wait_flushed(world_dest)?;
        taken
    }

    pub(crate) fn send(&self, dest: usize, value: &C::Value) -> Result<()> {
        self.send_bytes(dest, &self.codec.encode(value)?)
    }

    pub(crate) fn recv(&self, source: usize) -> Result<C::Value> {
        self.codec.decode(&self.recv_bytes(source)?)
    }

    /// Sends a value to `dest` while receiving one from `source` (see
    /// [`exchange_bytes`](Self::exchange_bytes)).
    pub(crate) fn exchange(
        &self,
        dest: usize,
        value: &C::Value,
        source: usize,
    ) -> Result<C::Value> {
        let bytes = self.exchange_bytes(dest, &self.codec.encode(value)?, source)?;
        self.codec.decode(&bytes)
    }
}
