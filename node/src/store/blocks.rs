//! The arrival log: records packed into blocks, one sled entry per block instead of one per
//! record. A block is
//!
//! ```text
//! count_after: u64 BE   records held once this block is written
//! n: u16 BE             records in this block
//! len: u32 BE × n       each record's length
//! bytes                 the records, concatenated
//! ```
//!
//! A record's arrival number is `block << 16 | index`. A record of length 0 is a purged one
//! (`purge.rs`): its bytes are gone, its slot keeps the arrival numbers of the others.

/// Most records in one block: small enough that reading one record copies little.
pub const MAX_RECORDS: usize = 64;
/// Most bytes of records in one block.
pub const MAX_BYTES: usize = 64 * 1024;
pub const INDEX_BITS: u32 = 16;

pub fn encode(count_after: u64, records: &[&[u8]]) -> Vec<u8> {
    let total: usize = records.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(10 + 4 * records.len() + total);
    out.extend_from_slice(&count_after.to_be_bytes());
    out.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_be_bytes());
    }
    for r in records {
        out.extend_from_slice(r);
    }
    out
}

/// The records count stored in a block's header.
pub fn count_after(block: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(block.get(..8)?.try_into().ok()?))
}

/// The records of a block, in order; `None` if the block is malformed.
pub fn records(block: &[u8]) -> Option<Vec<&[u8]>> {
    let n = u16::from_be_bytes(block.get(8..10)?.try_into().ok()?) as usize;
    let mut at = 10 + 4 * n;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let len = u32::from_be_bytes(block.get(10 + 4 * i..14 + 4 * i)?.try_into().ok()?) as usize;
        out.push(block.get(at..at + len)?);
        at += len;
    }
    Some(out)
}

/// One record of a block.
pub fn record(block: &[u8], index: usize) -> Option<&[u8]> {
    records(block)?.get(index).copied()
}

/// The block with the records at `indices` emptied (purged); `None` if the block is malformed.
pub fn without(block: &[u8], indices: &[usize]) -> Option<Vec<u8>> {
    let kept: Vec<&[u8]> =
        records(block)?.into_iter().enumerate().map(|(i, r)| if indices.contains(&i) { &[][..] } else { r }).collect();
    Some(encode(count_after(block)?, &kept))
}

/// Splits records into blocks by count and size, keeping order.
pub fn split<'a>(records: &'a [&'a [u8]]) -> Vec<&'a [&'a [u8]]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, r) in records.iter().enumerate() {
        if i > start && (i - start == MAX_RECORDS || bytes + r.len() > MAX_BYTES) {
            out.push(&records[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += r.len();
    }
    if start < records.len() {
        out.push(&records[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_split_by_count_and_size() {
        let small = vec![7u8; 10];
        let big = vec![9u8; 40 * 1024];
        let recs: Vec<&[u8]> = vec![&small, &big, &big, &small];
        let parts = split(&recs);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![2, 2]);
        let block = encode(42, parts[0]);
        assert_eq!(count_after(&block), Some(42));
        assert_eq!(records(&block).unwrap(), parts[0].to_vec());
        assert_eq!(record(&block, 1), Some(&big[..]));
        assert!(records(&block[..block.len() - 1]).is_none());
        let purged = without(&block, &[0]).unwrap();
        assert_eq!(count_after(&purged), Some(42));
        assert_eq!(records(&purged).unwrap(), vec![&[][..], &big[..]], "the slot stays, its bytes go");
        let many: Vec<&[u8]> = vec![&small[..]; 130];
        assert_eq!(split(&many).iter().map(|p| p.len()).collect::<Vec<_>>(), vec![64, 64, 2]);
    }
}
