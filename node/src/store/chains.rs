//! Authors' chains. On disk, the `chains` tree holds one entry per (author, write batch):
//! `author(32) ‖ batch(8)` → `(sequence u64 BE ‖ id 32 ‖ arrival u64 BE)…`, so a bulk ingest writes
//! one entry per author and batch rather than one per record. The arrival number locates the
//! record in the block log, so these entries are also what the in-memory id index is loaded from.
//! In memory, each author has the set of sequence numbers held, as ranges, so duplicate,
//! equivocation and gap checks of new records need no read.

use lantern_protocol::RecordId;

/// Sorted, disjoint, inclusive ranges of sequence numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet(Vec<(u64, u64)>);

impl SeqSet {
    pub fn contains(&self, seq: u64) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < seq);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= seq)
    }

    /// The highest sequence held below `seq`.
    pub fn highest_below(&self, seq: u64) -> Option<u64> {
        let i = self.0.partition_point(|&(lo, _)| lo < seq);
        i.checked_sub(1).map(|j| self.0[j].1.min(seq - 1))
    }

    pub fn insert(&mut self, seq: u64) {
        let i = self.0.partition_point(|&(_, hi)| hi.saturating_add(1) < seq);
        match self.0.get_mut(i) {
            Some((lo, hi)) if *lo <= seq.saturating_add(1) => {
                *lo = (*lo).min(seq);
                *hi = (*hi).max(seq);
                // Merge with the next range if they now touch.
                if let Some(&(next_lo, next_hi)) = self.0.get(i + 1)
                    && next_lo <= self.0[i].1.saturating_add(1)
                {
                    self.0[i].1 = self.0[i].1.max(next_hi);
                    self.0.remove(i + 1);
                }
            }
            _ => self.0.insert(i, (seq, seq)),
        }
    }

    #[cfg(test)]
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }
}

/// One record of an author's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub sequence: u64,
    pub id: RecordId,
    /// Where the record sits in the block log.
    pub arrival: u64,
}

const LINK_BYTES: usize = 48;

pub fn encode_entries(links: &[Link]) -> Vec<u8> {
    let mut out = Vec::with_capacity(links.len() * LINK_BYTES);
    for link in links {
        out.extend_from_slice(&link.sequence.to_be_bytes());
        out.extend_from_slice(link.id.as_bytes());
        out.extend_from_slice(&link.arrival.to_be_bytes());
    }
    out
}

/// The links of one entry; `None` if its length is not a whole number of links.
pub fn decode_entries(value: &[u8]) -> Option<impl Iterator<Item = Link> + '_> {
    value.len().is_multiple_of(LINK_BYTES).then(|| {
        value.chunks_exact(LINK_BYTES).map(|c| Link {
            sequence: u64::from_be_bytes(c[..8].try_into().expect("8 bytes")),
            id: RecordId(c[8..40].try_into().expect("32 bytes")),
            arrival: u64::from_be_bytes(c[40..].try_into().expect("8 bytes")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_set_merges_ranges_and_answers_gaps() {
        let mut s = SeqSet::default();
        for seq in [1, 2, 3, 7, 5, 6, 10] {
            s.insert(seq);
        }
        assert_eq!(s.ranges(), &[(1, 3), (5, 7), (10, 10)]);
        assert!(s.contains(6) && !s.contains(4) && !s.contains(11));
        assert_eq!(s.highest_below(5), Some(3));
        assert_eq!(s.highest_below(9), Some(7));
        assert_eq!(s.highest_below(1), None);
        s.insert(4);
        s.insert(8);
        s.insert(9);
        assert_eq!(s.ranges(), &[(1, 10)]);
    }

    #[test]
    fn entries_round_trip() {
        let e = vec![
            Link { sequence: 3, id: RecordId([1; 32]), arrival: 1 << 16 },
            Link { sequence: 9, id: RecordId([2; 32]), arrival: 5 << 16 | 63 },
        ];
        let bytes = encode_entries(&e);
        assert_eq!(decode_entries(&bytes).unwrap().collect::<Vec<_>>(), e);
        assert!(decode_entries(&bytes[..47]).is_none());
    }
}
