//! Barrier: nobody leaves until everybody has arrived.

use crate::collective::channel::{Channel, Plain};
use crate::collective::tags;
use crate::communicator::Communicator;
use crate::error::Result;

impl Communicator {
    /// Blocks until every rank of the communicator has called `barrier`.
    ///
    /// Dissemination algorithm: ⌈log2 n⌉ rounds; in round k rank r signals
    /// r + 2^k and waits for r − 2^k, so no rank is a bottleneck.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// world.barrier()?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn barrier(&self) -> Result<()> {
        let (rank, size) = (self.rank(), self.size());
        // Empty messages; the exchange also waits until our signal has left,
        // so a rank that computes right after the barrier holds nobody up.
        let channel = Channel::new(self, tags::BARRIER, Plain::<u8>::new());
        let mut distance = 1;
        while distance < size {
            let to = (rank + distance) % size;
            let from = (rank + size - distance) % size;
            channel.exchange_bytes(to, &[], from)?;
            distance *= 2;
        }
        Ok(())
    }
}
