//! Built-in reduction operations on plain-data slices: sum, product, min,
//! max, logical and bitwise and/or/xor, and minloc/maxloc on [`Loc`] pairs.
//!
//! Slice reductions (`reduce_slice`, `allreduce_slice`, `scan_slice`, ...)
//! apply an [`Op`] element by element. Integer arithmetic wraps on overflow
//! (as in C MPI) instead of panicking. An op a type does not support (a
//! bitwise op on `f64`, say) is an [`Error::InvalidArgument`] raised on every
//! rank before anything is sent.

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};

/// A built-in reduction operation, applied element by element.
///
/// ```no_run
/// use bramble::Op;
/// let world = bramble::init()?;
/// let flags = [world.rank() % 2 == 0].map(u8::from);
/// let mut all_even = [0u8];
/// world.allreduce_slice(&flags, &mut all_even, Op::LogicalAnd)?;
/// let mut highest = [0u32];
/// world.allreduce_slice(&[world.rank() as u32], &mut highest, Op::Max)?;
/// # Ok::<(), bramble::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Sum (wrapping for integers).
    Sum,
    /// Product (wrapping for integers).
    Prod,
    Min,
    Max,
    /// 1 if both are non-zero, else 0 (integers only).
    LogicalAnd,
    /// 1 if either is non-zero, else 0 (integers only).
    LogicalOr,
    /// 1 if exactly one is non-zero, else 0 (integers only).
    LogicalXor,
    /// Bitwise and (integers only).
    BitAnd,
    /// Bitwise or (integers only).
    BitOr,
    /// Bitwise exclusive or (integers only).
    BitXor,
    /// The smallest value and its index; ties go to the smaller index ([`Loc`] only).
    MinLoc,
    /// The largest value and its index; ties go to the smaller index ([`Loc`] only).
    MaxLoc,
}

/// A plain-data element type the built-in [`Op`]s can combine.
///
/// Implemented for every integer and float type and for [`Loc`]; implement it
/// for your own `Pod` types (complex numbers, say) to reduce slices of them.
///
/// ```no_run
/// use bramble::{Op, Reducible};
/// use bytemuck::{Pod, Zeroable};
///
/// #[repr(C)]
/// #[derive(Clone, Copy, Default, Pod, Zeroable)]
/// struct Complex {
///     re: f64,
///     im: f64,
/// }
///
/// impl Reducible for Complex {
///     fn supports(op: Op) -> bool {
///         matches!(op, Op::Sum | Op::Prod)
///     }
///     fn combine(op: Op, a: &mut Self, b: &Self) {
///         *a = match op {
///             Op::Prod => Complex { re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re },
///             _ => Complex { re: a.re + b.re, im: a.im + b.im },
///         };
///     }
/// }
///
/// let world = bramble::init()?;
/// let mut product = [Complex::default()];
/// world.allreduce_slice(&[Complex { re: 0.0, im: 1.0 }], &mut product, Op::Prod)?;
/// # Ok::<(), bramble::Error>(())
/// ```
pub trait Reducible: Pod {
    /// Whether `op` is defined on this type.
    fn supports(op: Op) -> bool;
    /// Sets `accumulated` to `op(accumulated, later)`, where `accumulated`
    /// comes from lower ranks. Only called with ops that [`supports`](Reducible::supports) accepts.
    fn combine(op: Op, accumulated: &mut Self, later: &Self);
}

/// A value with the index it came from, for [`Op::MinLoc`] and [`Op::MaxLoc`]
/// (as MPI's `MPI_DOUBLE_INT`). Defined for 8-byte values (`f64`, `i64`,
/// `u64`) so the pair has no padding; widen smaller types first.
///
/// ```no_run
/// use bramble::{Loc, Op};
/// let world = bramble::init()?;
/// let mine = [Loc { value: (world.rank() as f64 - 1.5).abs(), index: world.rank() as u64 }];
/// let mut closest = [Loc::default()];
/// world.allreduce_slice(&mine, &mut closest, Op::MinLoc)?;
/// println!("rank {} is closest to 1.5", closest[0].index);
/// # Ok::<(), bramble::Error>(())
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Loc<T> {
    pub value: T,
    pub index: u64,
}

/// Checks that `T` supports `op`, with a message saying what would.
pub(crate) fn check_supported<T: Reducible>(op: Op) -> Result<()> {
    if T::supports(op) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "Op::{op:?} is not defined on {}: bitwise and logical ops need integers, MinLoc/MaxLoc need bramble::Loc pairs",
        std::any::type_name::<T>()
    )))
}

/// `accumulated[i] = op(accumulated[i], later[i])` for every element; the
/// caller has checked the op and that both slices have the same length.
pub(crate) fn combine_slices<T: Reducible>(op: Op, accumulated: &mut [T], later: &[T]) {
    for (mine, theirs) in accumulated.iter_mut().zip(later) {
        T::combine(op, mine, theirs);
    }
}

fn truth<T: PartialEq + Default>(value: T) -> bool {
    value != T::default()
}

macro_rules! reducible_integers {
    ($($t:ty),*) => {$(
        impl Reducible for $t {
            fn supports(op: Op) -> bool {
                !matches!(op, Op::MinLoc | Op::MaxLoc)
            }
            fn combine(op: Op, accumulated: &mut Self, later: &Self) {
                let (a, b) = (*accumulated, *later);
                *accumulated = match op {
                    Op::Sum => a.wrapping_add(b),
                    Op::Prod => a.wrapping_mul(b),
                    Op::Min => a.min(b),
                    Op::Max => a.max(b),
                    Op::LogicalAnd => <$t>::from(truth(a) && truth(b)),
                    Op::LogicalOr => <$t>::from(truth(a) || truth(b)),
                    Op::LogicalXor => <$t>::from(truth(a) != truth(b)),
                    Op::BitAnd => a & b,
                    Op::BitOr => a | b,
                    Op::BitXor => a ^ b,
                    Op::MinLoc | Op::MaxLoc => a,
                };
            }
        }
    )*};
}
reducible_integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! reducible_floats {
    ($($t:ty),*) => {$(
        impl Reducible for $t {
            fn supports(op: Op) -> bool {
                matches!(op, Op::Sum | Op::Prod | Op::Min | Op::Max)
            }
            fn combine(op: Op, accumulated: &mut Self, later: &Self) {
                let (a, b) = (*accumulated, *later);
                *accumulated = match op {
                    Op::Sum => a + b,
                    Op::Prod => a * b,
                    Op::Min => a.min(b),
                    Op::Max => a.max(b),
                    _ => a,
                };
            }
        }
    )*};
}
reducible_floats!(f32, f64);

macro_rules! located {
    ($($t:ty),*) => {$(
        // SAFETY: `Loc<$t>` is `repr(C)` with two 8-byte plain-data fields,
        // so it has no padding and every bit pattern is a valid value.
        unsafe impl Zeroable for Loc<$t> {}
        // SAFETY: as above; the size check below guards the no-padding claim.
        unsafe impl Pod for Loc<$t> {}
        const _: () = assert!(std::mem::size_of::<Loc<$t>>() == 16);

        impl Reducible for Loc<$t> {
            fn supports(op: Op) -> bool {
                matches!(op, Op::MinLoc | Op::MaxLoc)
            }
            fn combine(op: Op, accumulated: &mut Self, later: &Self) {
                let better = match op {
                    Op::MinLoc => later.value < accumulated.value,
                    _ => later.value > accumulated.value,
                };
                let tie_to_lower_index =
                    later.value == accumulated.value && later.index < accumulated.index;
                if better || tie_to_lower_index {
                    *accumulated = *later;
                }
            }
        }
    )*};
}
located!(f64, i64, u64);

#[cfg(test)]
mod tests {
    use super::*;

    fn reduced<T: Reducible>(op: Op, values: &[T]) -> T {
        let mut accumulated = values[0];
        for value in &values[1..] {
            T::combine(op, &mut accumulated, value);
        }
        accumulated
    }

    #[test]
    fn integer_ops() {
        let values = [6i32, -3, 5];
        assert_eq!(reduced(Op::Sum, &values), 8);
        assert_eq!(reduced(Op::Prod, &values), -90);
        assert_eq!(reduced(Op::Min, &values), -3);
        assert_eq!(reduced(Op::Max, &values), 6);
        assert_eq!(reduced(Op::BitAnd, &[0b1100u8, 0b1010]), 0b1000);
        assert_eq!(reduced(Op::BitOr, &[0b1100u8, 0b1010]), 0b1110);
        assert_eq!(reduced(Op::BitXor, &[0b1100u8, 0b1010]), 0b0110);
        assert_eq!(reduced(Op::LogicalAnd, &[2i64, 0, 3]), 0);
        assert_eq!(reduced(Op::LogicalOr, &[0i64, 0, 3]), 1);
        assert_eq!(reduced(Op::LogicalXor, &[1u16, 5, 7]), 1);
    }

    #[test]
    fn integer_overflow_wraps_instead_of_panicking() {
        assert_eq!(reduced(Op::Sum, &[u8::MAX, 2]), 1);
        assert_eq!(reduced(Op::Prod, &[i32::MAX, 2]), -2);
    }

    #[test]
    fn floats_support_arithmetic_only() {
        assert_eq!(reduced(Op::Sum, &[1.5f64, 2.25]), 3.75);
        assert_eq!(reduced(Op::Max, &[1.5f32, -2.0]), 1.5);
        assert!(check_supported::<f64>(Op::BitXor).is_err());
        assert!(check_supported::<f64>(Op::MinLoc).is_err());
        assert!(check_supported::<u32>(Op::MinLoc).is_err());
        assert!(check_supported::<Loc<f64>>(Op::Sum).is_err());
    }

    #[test]
    fn minloc_and_maxloc_break_ties_by_lower_index() {
        let values = [
            Loc {
                value: 3.0,
                index: 4,
            },
            Loc {
                value: 1.0,
                index: 7,
            },
            Loc {
                value: 9.0,
                index: 2,
            },
            Loc {
                value: 1.0,
                index: 5,
            },
            Loc {
                value: 9.0,
                index: 1,
            },
        ];
        assert_eq!(
            reduced(Op::MinLoc, &values),
            Loc {
                value: 1.0,
                index: 5
            }
        );
        assert_eq!(
            reduced(Op::MaxLoc, &values),
            Loc {
                value: 9.0,
                index: 1
            }
        );
    }

    #[test]
    fn slices_combine_element_by_element() {
        let mut accumulated = [1u64, 2, 3];
        combine_slices(Op::Sum, &mut accumulated, &[10, 20, 30]);
        assert_eq!(accumulated, [11, 22, 33]);
    }
}
