//! Broadcast: the root's value reaches every rank.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::tags;
use crate::communicator::Communicator;
use crate::error::Result;
use crate::point_to_point::{decode, encode, value_type_tag, Source};

impl Communicator {
    /// Replaces `value` on every rank with the root's.
    ///
    /// Binomial tree: the root's message reaches all n ranks in ⌈log2 n⌉
    /// steps, each rank forwarding the encoded bytes without re-encoding.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut n = if world.rank() == 0 { 100 } else { 0 };
    /// world.broadcast(&mut n, 0)?;
    /// assert_eq!(n, 100);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn broadcast<T: Serialize + DeserializeOwned>(
        &self,
        value: &mut T,
        root: usize,
    ) -> Result<()> {
        let size = self.size();
        self.world_rank(root)?;
        let relative = (self.rank() + size - root) % size;
        let context = self.collective_context();
        let type_tag = value_type_tag::<T>();
        let mut payload = None;
        // Receive from the parent (the rank that differs in our lowest set bit).
        let mut mask = 1;
        while mask < size {
            if relative & mask != 0 {
                let parent = (relative - mask + root) % size;
                let message =
                    self.recv_message(context, Source::Rank(parent), tags::BROADCAST.into())?;
                *value = decode(&message.payload)?;
                payload = Some(message.payload);
                break;
            }
            mask <<= 1;
        }
        let payload = match payload {
            Some(bytes) => bytes,
            None => encode(value)?,
        };
        // Forward to children below that bit.
        mask >>= 1;
        while mask > 0 {
            if relative + mask < size {
                let child = (relative + mask + root) % size;
                self.send_bytes(context, child, tags::BROADCAST, type_tag, &payload)?;
            }
            mask >>= 1;
        }
        Ok(())
    }
}
