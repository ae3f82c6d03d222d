//! The binomial tree that broadcast, reduce, scatter and gather follow.
//!
//! Ranks are numbered relative to the root (`relative = (rank - root) mod n`).
//! A rank's parent clears its lowest set bit; its children add each lower
//! power of two. Every subtree covers a contiguous range of relative ranks,
//! which is what lets gather and scatter move one packed message per edge
//! and lets reduce combine in rank order. Depth: ⌈log2 n⌉.

use std::ops::Range;

#[derive(Debug, Clone, Copy)]
pub(crate) struct BinomialTree {
    size: usize,
    root: usize,
    relative: usize,
}

/// A child of a rank in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Child {
    /// The child's rank in the communicator.
    pub rank: usize,
    /// The relative ranks of the child's subtree.
    pub subtree: Range<usize>,
}

impl BinomialTree {
    pub(crate) fn new(size: usize, rank: usize, root: usize) -> Self {
        BinomialTree {
            size,
            root,
            relative: (rank + size - root) % size,
        }
    }

    /// This rank's position relative to the root.
    pub(crate) fn relative(&self) -> usize {
        self.relative
    }

    /// The communicator rank at relative position `relative`.
    pub(crate) fn absolute(&self, relative: usize) -> usize {
        (relative + self.root) % self.size
    }

    /// The rank this one receives from (broadcast) or sends to (reduce); `None` at the root.
    pub(crate) fn parent(&self) -> Option<usize> {
        let lowest_bit = self.relative & self.relative.wrapping_neg();
        (self.relative != 0).then(|| self.absolute(self.relative - lowest_bit))
    }

    /// The relative ranks of this rank's own subtree (itself first).
    pub(crate) fn subtree(&self) -> Range<usize> {
        let span = match self.relative {
            0 => self.size,
            relative => relative & relative.wrapping_neg(),
        };
        self.relative..(self.relative + span).min(self.size)
    }

    /// The children, nearest (smallest subtree) first.
    pub(crate) fn children(&self) -> Vec<Child> {
        let end = self.subtree().end;
        let mut children = Vec::new();
        let mut mask = 1;
        while self.relative + mask < end {
            let child = self.relative + mask;
            children.push(Child {
                rank: self.absolute(child),
                subtree: child..(child + mask).min(end),
            });
            mask <<= 1;
        }
        children
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rank_but_the_root_has_one_parent_that_lists_it_as_a_child() {
        for size in 1..=13 {
            for root in 0..size {
                for rank in 0..size {
                    let tree = BinomialTree::new(size, rank, root);
                    match tree.parent() {
                        None => assert_eq!(rank, root),
                        Some(parent) => {
                            let children = BinomialTree::new(size, parent, root).children();
                            assert!(
                                children.iter().any(|c| c.rank == rank),
                                "{size} {root} {rank}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn children_subtrees_tile_the_subtree() {
        for size in 1..=13 {
            for rank in 0..size {
                let tree = BinomialTree::new(size, rank, 2 % size);
                let own = tree.subtree();
                let mut next = own.start + 1;
                for child in tree.children() {
                    assert_eq!(child.subtree.start, next);
                    assert_eq!(
                        child.subtree,
                        BinomialTree::new(size, child.rank, 2 % size).subtree()
                    );
                    next = child.subtree.end;
                }
                assert_eq!(next, own.end, "size {size} rank {rank}");
            }
        }
    }

    #[test]
    fn depth_is_logarithmic() {
        let size = 13;
        let depth = |rank| {
            let mut hops = 0;
            let mut at = rank;
            while let Some(parent) = BinomialTree::new(size, at, 0).parent() {
                at = parent;
                hops += 1;
            }
            hops
        };
        assert_eq!((0..size).map(depth).max(), Some(3));
    }
}
