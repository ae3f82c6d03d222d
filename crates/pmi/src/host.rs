//! The host's name, as `MPI_Get_processor_name` reports it.
//!
//! Launcher, proxies and ranks must agree on it (it names hosts in messages
//! and tells ranks on one host apart from those on another), so it lives here,
//! beside the other facts a job shares through PMI.

/// This host's name from `gethostname(2)`, or `localhost` if it has none.
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most `buffer.len()` bytes into the buffer;
    // we stop at the first NUL, or use the whole buffer if it was truncated.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return "localhost".to_string();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_hostname_command() {
        let expected = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(super::host_name(), expected.trim());
    }
}
