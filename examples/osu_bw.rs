//! Streaming bandwidth from rank 0 to rank 1, OSU's `osu_bw`: a window of 64
//! non-blocking sends, acknowledged by one short reply, in MB/s (10^6 bytes).
//!
//! Run: `bramble run -n 2 target/release/examples/osu_bw [-m MAX] [-i N] [-x N]`

#[path = "osu/mod.rs"]
mod osu;

use bramble::Request;

const WINDOW: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    osu::require_ranks(&world, 2, "osu_bw")?;
    let options = osu::Options::from_args(4 << 20)?;
    if world.rank() == 0 {
        osu::header("Bandwidth Test", "Bandwidth (MB/s)");
    }
    let data = vec![7u8; options.max_size];
    let mut inbox = vec![vec![0u8; options.max_size]; WINDOW];
    for size in options.sizes(1) {
        let (iterations, warmup) = options.rounds(size);
        world.barrier()?;
        let per_window = match world.rank() {
            0 => osu::time_us(iterations, warmup, || {
                let sends = (0..WINDOW)
                    .map(|_| world.isend_slice(&data[..size], 1, 100))
                    .collect::<Result<Vec<_>, _>>()?;
                Request::wait_all(sends)?;
                world.recv::<u8>(1, 101).map(drop)
            })?,
            1 => osu::time_us(iterations, warmup, || {
                let receives = inbox
                    .iter_mut()
                    .map(|buffer| world.irecv_into(&mut buffer[..size], 0, 100))
                    .collect::<Result<Vec<_>, _>>()?;
                Request::wait_all(receives)?;
                world.send(&0u8, 0, 101)
            })?,
            _ => 0.0,
        };
        if world.rank() == 0 {
            osu::row(size, (size * WINDOW) as f64 / per_window);
        }
    }
    Ok(())
}
