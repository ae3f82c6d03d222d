//! Broadcast latency from rank 0, OSU's `osu_bcast`: time per broadcast of a
//! message of each size, averaged over the ranks, in microseconds.
//!
//! Run: `bramble run -n 4 target/release/examples/osu_bcast [-m MAX] [-i N] [-x N]`

#[path = "osu/mod.rs"]
mod osu;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let options = osu::Options::from_args(1 << 20)?;
    if world.rank() == 0 {
        osu::header("Broadcast Latency Test", "Avg Latency(us)");
    }
    let mut buffer = vec![1u8; options.max_size];
    for size in options.sizes(1) {
        let (iterations, warmup) = options.rounds(size);
        world.barrier()?;
        let mine = osu::time_us(iterations, warmup, || {
            world.broadcast_slice(&mut buffer[..size], 0)
        })?;
        if let Some(total) = world.reduce(mine, 0, |a, b| a + b)? {
            osu::row(size, total / world.size() as f64);
        }
    }
    Ok(())
}
