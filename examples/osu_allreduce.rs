//! Allreduce latency, OSU's `osu_allreduce`: time per sum-allreduce of a
//! vector of `f32` of each size in bytes, averaged over the ranks, in
//! microseconds.
//!
//! Run: `bramble run -n 2 target/release/examples/osu_allreduce [-m MAX] [-i N] [-x N]`

#[path = "osu/mod.rs"]
mod osu;

use bramble::Op;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let options = osu::Options::from_args(1 << 20)?;
    if world.rank() == 0 {
        osu::header("Allreduce Latency Test", "Avg Latency(us)");
    }
    let count = options.max_size / 4;
    let send = vec![1.0f32; count];
    let mut result = vec![0.0f32; count];
    for size in options.sizes(4) {
        let (iterations, warmup) = options.rounds(size);
        let elements = size / 4;
        world.barrier()?;
        let mine = osu::time_us(iterations, warmup, || {
            world.allreduce_slice(&send[..elements], &mut result[..elements], Op::Sum)
        })?;
        if let Some(total) = world.reduce(mine, 0, |a, b| a + b)? {
            osu::row(size, total / world.size() as f64);
        }
    }
    Ok(())
}
