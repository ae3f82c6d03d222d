//! Ping-pong latency between ranks 0 and 1, OSU's `osu_latency`: half the
//! round-trip time of a message of each size, in microseconds.
//!
//! Run: `bramble run -n 2 target/release/examples/osu_latency [-m MAX] [-i N] [-x N]`

#[path = "osu/mod.rs"]
mod osu;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    osu::require_ranks(&world, 2, "osu_latency")?;
    let options = osu::Options::from_args(4 << 20)?;
    if world.rank() == 0 {
        osu::header("Latency Test", "Latency (us)");
    }
    let mut buffer = vec![0u8; options.max_size];
    for size in options.sizes(0) {
        let (iterations, warmup) = options.rounds(size);
        world.barrier()?;
        let message = &mut buffer[..size];
        let round_trip = match world.rank() {
            0 => osu::time_us(iterations, warmup, || {
                world.send_slice(message, 1, 1)?;
                world.recv_into(message, 1, 1).map(drop)
            })?,
            1 => osu::time_us(iterations, warmup, || {
                world.recv_into(message, 0, 1)?;
                world.send_slice(message, 0, 1)
            })?,
            _ => 0.0,
        };
        if world.rank() == 0 {
            osu::row(size, round_trip / 2.0);
        }
    }
    Ok(())
}
