//! The bramble half of the cross-check with mpi4py: the same computations on
//! fixed inputs as tests/crosscheck/crosscheck.py, printed in the same
//! format, so tests/crosscheck.rs can compare the two line by line.
//!
//! Rank 0 prints every rank's lines (gathered), so output never interleaves.
//!
//! Run: `bramble run -n 4 target/debug/examples/crosscheck`

use bramble::{Communicator, Loc, Op};

/// This rank's result lines, printed by rank 0 at the end.
struct Lines {
    rank: usize,
    lines: Vec<String>,
}

impl Lines {
    fn show<T: std::fmt::Display>(&mut self, name: &str, values: &[T]) {
        let text: Vec<String> = values.iter().map(ToString::to_string).collect();
        self.lines
            .push(format!("rank {} {name}: {}", self.rank, text.join(" ")));
    }
}

fn main() -> Result<(), bramble::Error> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());
    let r = rank as i64;
    let mut out = Lines {
        rank,
        lines: Vec::new(),
    };
    let mine = [r + 1, 2 * r - 3, r * r, 7 - r];

    for (name, op) in [
        ("sum", Op::Sum),
        ("prod", Op::Prod),
        ("max", Op::Max),
        ("min", Op::Min),
        ("band", Op::BitAnd),
        ("bor", Op::BitOr),
        ("bxor", Op::BitXor),
        ("land", Op::LogicalAnd),
        ("lor", Op::LogicalOr),
        ("lxor", Op::LogicalXor),
    ] {
        let mut result = [0i64; 4];
        world.reduce_slice(&mine, (rank == 0).then_some(&mut result[..]), op, 0)?;
        if rank == 0 {
            out.show(&format!("reduce {name}"), &result);
        }
    }

    let mut everywhere = [0i64; 4];
    world.allreduce_slice(&mine, &mut everywhere, Op::Sum)?;
    out.show("allreduce sum", &everywhere);

    let mut prefix = [0i64; 4];
    world.scan_slice(&mine, &mut prefix, Op::Sum)?;
    out.show("scan sum", &prefix);

    let mut before = [0i64; 4];
    if world.exscan_slice(&mine, &mut before, Op::Prod)? {
        out.show("exscan prod", &before);
    }

    let outgoing: Vec<i64> = (0..size as i64).map(|j| 100 * r + j).collect();
    let mut incoming = vec![0i64; size];
    world.alltoall_slice(&outgoing, &mut incoming)?;
    out.show("alltoall", &incoming);

    let contribution: Vec<i64> = (0..2 * size as i64).map(|j| r * 10 + j).collect();
    let mut block = [0i64; 2];
    world.reduce_scatter_slice(&contribution, &mut block, &vec![2; size], Op::Sum)?;
    out.show("reduce_scatter", &block);

    minloc_and_floats(&world, &mut out)?;
    out.show("allgather", &world.allgather(&(rank * rank))?);
    if let Some(everyone) = world.gather(&out.lines, 0)? {
        for line in everyone.concat() {
            println!("{line}");
        }
    }
    Ok(())
}

fn minloc_and_floats(world: &Communicator, out: &mut Lines) -> Result<(), bramble::Error> {
    let rank = world.rank();
    let mine = [Loc {
        value: (rank as f64 - 1.5).abs() * 2.0,
        index: rank as u64,
    }];
    let mut best = [Loc::default()];
    world.allreduce_slice(&mine, &mut best, Op::MinLoc)?;
    out.show(
        "minloc",
        &[format!("{:.6}", best[0].value), best[0].index.to_string()],
    );
    let total = world.allreduce(0.1 * (rank as f64 + 1.0), |a, b| a + b)?;
    out.show("float sum", &[format!("{total:.6}")]);
    Ok(())
}
