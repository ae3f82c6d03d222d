//! Every rank says hello, like mpi4py's `demo/helloworld.py`.
//!
//! Run: `bramble run -n 4 target/release/examples/hello`

fn main() -> Result<(), bramble::Error> {
    let world = bramble::init()?;
    println!(
        "Hello, World! I am process {} of {} on {}.",
        world.rank(),
        world.size(),
        world.processor_name()
    );
    Ok(())
}
