//! Reduce: combine one value from every rank into one value at the root.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::tags;
use crate::communicator::Communicator;
use crate::error::Result;
use crate::point_to_point::{decode, encode, value_type_tag, Source};

impl Communicator {
    /// Combines every rank's `value` with `op`; the root gets `Some(result)`,
    /// the others `None`. `op` must be associative; with a root other than 0
    /// it must also be commutative.
    ///
    /// Binomial tree: ⌈log2 n⌉ rounds, each rank combining what its subtree
    /// sends, lower ranks on the left, so with root 0 the combination order is
    /// rank order.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let total = world.reduce(world.rank() as u64, 0, |a, b| a + b)?;
    /// if let Some(total) = total {
    ///     println!("sum of ranks: {total}");
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn reduce<T, F>(&self, value: T, root: usize, op: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        let size = self.size();
        self.world_rank(root)?;
        let relative = (self.rank() + size - root) % size;
        let context = self.collective_context();
        let mut accumulated = value;
        let mut mask = 1;
        while mask < size {
            if relative & mask != 0 {
                let parent = (relative - mask + root) % size;
                let payload = encode(&accumulated)?;
                self.send_bytes(
                    context,
                    parent,
                    tags::REDUCE,
                    value_type_tag::<T>(),
                    &payload,
                )?;
                return Ok(None);
            }
            if relative + mask < size {
                let child = (relative + mask + root) % size;
                let message =
                    self.recv_message(context, Source::Rank(child), tags::REDUCE.into())?;
                accumulated = op(accumulated, decode(&message.payload)?);
            }
            mask <<= 1;
        }
        Ok(Some(accumulated))
    }
}
