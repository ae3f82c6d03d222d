//! Bidirectional bandwidth between ranks 0 and 1, OSU's `osu_bibw`: both send
//! a window of 64 messages to each other at once; total MB/s (10^6 bytes).
//!
//! Run: `bramble run -n 2 target/release/examples/osu_bibw [-m MAX] [-i N] [-x N]`

#[path = "osu/mod.rs"]
mod osu;

use bramble::Request;

const WINDOW: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    osu::require_ranks(&world, 2, "osu_bibw")?;
    let options = osu::Options::from_args(4 << 20)?;
    if world.rank() == 0 {
        osu::header("Bi-Directional Bandwidth Test", "Bandwidth (MB/s)");
    }
    let data = vec![7u8; options.max_size];
    let mut inbox = vec![vec![0u8; options.max_size]; WINDOW];
    let peer = 1 - world.rank().min(1);
    for size in options.sizes(1) {
        let (iterations, warmup) = options.rounds(size);
        world.barrier()?;
        let per_window = if world.rank() < 2 {
            osu::time_us(iterations, warmup, || {
                let receives = inbox
                    .iter_mut()
                    .map(|buffer| world.irecv_into(&mut buffer[..size], peer, 100))
                    .collect::<Result<Vec<_>, _>>()?;
                let sends = (0..WINDOW)
                    .map(|_| world.isend_slice(&data[..size], peer, 100))
                    .collect::<Result<Vec<_>, _>>()?;
                Request::wait_all(sends)?;
                Request::wait_all(receives).map(drop)
            })?
        } else {
            0.0
        };
        if world.rank() == 0 {
            osu::row(size, (2 * size * WINDOW) as f64 / per_window);
        }
    }
    Ok(())
}
