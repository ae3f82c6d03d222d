//! Several byte strings in one message, for gather and scatter, which move a
//! whole subtree's contributions along each edge of the tree.
//!
//! Layout: the count, then each length, as little-endian u64, then the bytes.

use crate::error::{Error, Result};

pub(crate) fn pack(parts: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = parts.iter().map(Vec::len).sum();
    let mut packed = Vec::with_capacity(8 * (parts.len() + 1) + total);
    packed.extend_from_slice(&(parts.len() as u64).to_le_bytes());
    for part in parts {
        packed.extend_from_slice(&(part.len() as u64).to_le_bytes());
    }
    for part in parts {
        packed.extend_from_slice(part);
    }
    packed
}

pub(crate) fn unpack(packed: &[u8]) -> Result<Vec<Vec<u8>>> {
    let malformed = || {
        Error::InvalidArgument(
        "a collective received a malformed packed message: did every rank call the same collective?".to_string(),
    )
    };
    let mut words = packed.chunks(8).map(|chunk| {
        <[u8; 8]>::try_from(chunk)
            .map(|bytes| u64::from_le_bytes(bytes) as usize)
            .map_err(|_| malformed())
    });
    let count = words.next().ok_or_else(malformed)??;
    let header = count
        .checked_add(1)
        .and_then(|n| n.checked_mul(8))
        .filter(|&len| len <= packed.len())
        .ok_or_else(malformed)?;
    let lengths = words.take(count).collect::<Result<Vec<usize>>>()?;
    let mut parts = Vec::with_capacity(count);
    let mut offset = header;
    for length in lengths {
        let end = offset
            .checked_add(length)
            .filter(|&end| end <= packed.len())
            .ok_or_else(malformed)?;
        parts.push(packed[offset..end].to_vec());
        offset = end;
    }
    if offset != packed.len() {
        return Err(malformed());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let parts = vec![vec![1, 2, 3], vec![], vec![9; 20]];
        assert_eq!(unpack(&pack(&parts)).unwrap(), parts);
        assert_eq!(unpack(&pack(&[])).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let packed = pack(&[vec![1, 2, 3], vec![4]]);
        for cut in 0..packed.len() {
            assert!(unpack(&packed[..cut]).is_err(), "cut at {cut}");
        }
        assert!(unpack(&[0xff; 16]).is_err());
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack(&longer).is_err());
    }
}
