//! Bramble: message passing for clusters of small Linux boxes.
//!
//! Start a program with `bramble run -n 4 ./my_program` (or MPICH's
//! `mpiexec`), and every copy gets a rank in the world communicator:
//!
//! ```no_run
//! let world = bramble::init()?;
//! println!(
//!     "Hello, World! I am process {} of {} on {}.",
//!     world.rank(),
//!     world.size(),
//!     world.processor_name()
//! );
//! # Ok::<(), bramble::Error>(())
//! ```
//!
//! Everything is a method of [`Communicator`], in two flavours like mpi4py:
//! serde values (`send`/`recv`, `broadcast`, `reduce` with a closure, ...)
//! and slices of plain data (`send_slice`/`recv_into`, `allreduce_slice` with
//! an [`Op`], ...).
//!
//! - point to point: [`send`](Communicator::send), [`recv`](Communicator::recv),
//!   [`recv_with_status`](Communicator::recv_with_status), [`sendrecv`](Communicator::sendrecv),
//!   [`sendrecv_replace_slice`](Communicator::sendrecv_replace_slice),
//!   [`probe`](Communicator::probe) / [`iprobe`](Communicator::iprobe), the
//!   non-blocking [`isend`](Communicator::isend), [`irecv`](Communicator::irecv),
//!   [`irecv_into`](Communicator::irecv_into) returning a [`Request`]
//!   (`wait`, `test`, [`Request::wait_all`], [`Request::wait_any`]), and
//!   [`ANY_SOURCE`] / [`ANY_TAG`] receives with a [`Status`];
//! - collectives: [`barrier`](Communicator::barrier), [`broadcast`](Communicator::broadcast),
//!   [`scatter`](Communicator::scatter), [`gather`](Communicator::gather),
//!   [`allgather`](Communicator::allgather), [`reduce`](Communicator::reduce),
//!   [`allreduce`](Communicator::allreduce), [`reduce_scatter_slice`](Communicator::reduce_scatter_slice),
//!   [`alltoall`](Communicator::alltoall), [`scan`](Communicator::scan),
//!   [`exscan`](Communicator::exscan), each with a `_slice` form and the
//!   `v` forms (`scatterv_slice`, `gatherv_slice`, `allgatherv_slice`,
//!   `alltoallv_slice`) for counts that differ by rank;
//! - communicators: [`dup`](Communicator::dup), [`split`](Communicator::split).
//!
//! Misuse is an [`Error`], never undefined behaviour or a panic: a value of
//! the wrong type, a buffer too small, a rank out of range. Run without a
//! launcher, a program is a job of size 1. No MPI library, C toolchain or
//! libclang is needed.
//!
//! Layout: [`bootstrap`](crate) speaks PMI-1 to the launcher; the engine
//! matches messages; transports (TCP between hosts) move the bytes behind
//! one internal trait; communicators and collectives sit on top.

mod bootstrap;
mod collective;
mod communicator;
mod engine;
mod error;
mod fingerprint;
mod ops;
mod point_to_point;
mod request;
mod transport;

use std::sync::atomic::{AtomicBool, Ordering};

pub use communicator::Communicator;
pub use error::{Error, Result};
pub use ops::{Loc, Op, Reducible};
pub use point_to_point::{Source, Status, Tag, TagSelector, ANY_SOURCE, ANY_TAG};
pub use request::Request;

static STARTED: AtomicBool = AtomicBool::new(false);

/// Joins the job and returns the world communicator: every rank of the job.
///
/// Call it once per process. The job ends for this rank when the last clone
/// of the communicator is dropped: pending messages are flushed and the
/// process manager is told (PMI `finalize`).
pub fn init() -> Result<Communicator> {
    if STARTED.swap(true, Ordering::SeqCst) {
        return Err(Error::InvalidArgument(
            "bramble::init() was already called in this process; clone the communicator instead"
                .to_string(),
        ));
    }
    let engine = bootstrap::start()?;
    Ok(Communicator::world(engine, bramble_pmi::host_name()))
}
