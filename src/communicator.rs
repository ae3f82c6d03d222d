//! A communicator: a group of ranks and a private channel for their messages.
//!
//! `bramble::init()` returns the world communicator, every rank of the job.
//! Each communicator has its own context ids (one for point-to-point, one for
//! collectives), so its traffic never matches another communicator's, nor a
//! collective's a user's message. `dup` and `split` make new communicators;
//! their members agree on fresh context ids collectively (the largest id any
//! member has not used yet), so no rank ever holds two communicators with the
//! same context.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::Op;

/// A group of ranks that can talk to each other. Cheap to clone.
///
/// Not `Send`: like an MPI communicator in `MPI_THREAD_SINGLE`, it belongs to
/// the thread that created it.
#[derive(Clone)]
pub struct Communicator {
    pub(crate) engine: Rc<RefCell<Engine>>,
    /// Context id of point-to-point traffic; collectives use `context + 1`.
    pub(crate) context: u32,
    group: Rc<Group>,
    rank: usize,
    processor_name: Rc<str>,
    /// The lowest context id this process has not used yet, shared by all
    /// its communicators.
    next_context: Rc<Cell<u32>>,
}

/// Maps between communicator ranks and world ranks.
struct Group {
    members: Vec<usize>,
    index: HashMap<usize, usize>,
}

impl Communicator {
    pub(crate) fn world(engine: Engine, processor_name: String) -> Communicator {
        let size = engine.size();
        let rank = engine.rank();
        Communicator {
            engine: Rc::new(RefCell::new(engine)),
            context: 0,
            group: Rc::new(Group::new((0..size).collect())),
            rank,
            processor_name: processor_name.into(),
            next_context: Rc::new(Cell::new(2)),
        }
    }

    /// A new communicator with the same ranks, whose messages and collectives
    /// never match this one's (as `MPI_Comm_dup`). Collective: every rank
    /// must call it. Libraries dup the communicator they are given so their
    /// traffic cannot mix with the caller's.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let private = world.dup()?;
    /// assert_eq!((private.rank(), private.size()), (world.rank(), world.size()));
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn dup(&self) -> Result<Communicator> {
        let context = self.agree_on_context()?;
        Ok(Communicator {
            context,
            ..self.clone()
        })
    }

    /// Splits the ranks into one new communicator per `color` (as
    /// `MPI_Comm_split`). Ranks with the same color end up together, ordered
    /// by `key` (ties by their rank here); a rank passing `None` joins no
    /// communicator and gets `None`. Collective: every rank must call it.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// // Rows of a grid with 2 columns: ranks 0,1 | 2,3 | ...
    /// let row = world.split(Some(world.rank() / 2), world.rank())?;
    /// if let Some(row) = row {
    ///     let row_sum = row.allreduce(world.rank(), |a, b| a + b)?;
    ///     println!("rank {} of its row; row sum {row_sum}", row.rank());
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn split(&self, color: Option<usize>, key: usize) -> Result<Option<Communicator>> {
        let choices: Vec<(Option<usize>, usize)> = self.allgather(&(color, key))?;
        // Every rank takes part, so the parent's members stay in step.
        let context = self.agree_on_context()?;
        let Some(color) = color else {
            return Ok(None);
        };
        let mut members: Vec<(usize, usize)> = choices
            .iter()
            .enumerate()
            .filter(|(_, (their_color, _))| *their_color == Some(color))
            .map(|(rank, (_, their_key))| (*their_key, rank))
            .collect();
        members.sort_unstable();
        let rank = members
            .iter()
            .position(|&(_, member)| member == self.rank)
            .ok_or_else(|| {
                Error::InvalidArgument("split: this rank is missing from its own color".to_string())
            })?;
        let world_members = members
            .iter()
            .map(|&(_, member)| self.world_rank(member))
            .collect::<Result<Vec<usize>>>()?;
        Ok(Some(Communicator {
            engine: self.engine.clone(),
            context,
            group: Rc::new(Group::new(world_members)),
            rank,
            processor_name: self.processor_name.clone(),
            next_context: self.next_context.clone(),
        }))
    }

    /// A context pair unused by every member: the largest next-free id among them.
    fn agree_on_context(&self) -> Result<u32> {
        let mut agreed = [0u32];
        self.allreduce_slice(&[self.next_context.get()], &mut agreed, Op::Max)?;
        let next = agreed[0].checked_add(2).ok_or_else(|| {
            Error::InvalidArgument(
                "this process has created too many communicators (context ids ran out): reuse them instead of creating new ones in a loop".to_string(),
            )
        })?;
        self.next_context.set(next);
        Ok(agreed[0])
    }

    /// This process's rank in the communicator, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many ranks the communicator has.
    pub fn size(&self) -> usize {
        self.group.members.len()
    }

    /// The name of the host this rank runs on (as `MPI_Get_processor_name`).
    pub fn processor_name(&self) -> &str {
        &self.processor_name
    }

    /// The world rank of communicator rank `rank`, or an error naming the valid range.
    pub(crate) fn world_rank(&self, rank: usize) -> Result<usize> {
        self.group
            .members
            .get(rank)
            .copied()
            .ok_or(Error::RankOutOfRange {
                rank,
                size: self.size(),
            })
    }

    /// The communicator rank of world rank `world`.
    pub(crate) fn local_rank(&self, world: usize) -> Result<usize> {
        self.group
            .index
            .get(&world)
            .copied()
            .ok_or(Error::Protocol {
                peer: world,
                reason: "a message matched a communicator its sender is not in".to_string(),
            })
    }

    pub(crate) fn collective_context(&self) -> u32 {
        self.context + 1
    }
}

impl Group {
    fn new(members: Vec<usize>) -> Group {
        let index = members.iter().enumerate().map(|(i, &w)| (w, i)).collect();
        Group { members, index }
    }
}

impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("rank", &self.rank)
            .field("size", &self.size())
            .field("context", &self.context)
            .finish()
    }
}
