//! Authors' chains. On disk, the `chains` tree holds one entry per (author, write batch):
//! `author(32) ‖ batch(8)` → `(sequence u64 BE ‖ id 32)…`, so a bulk ingest writes one entry per
//! author and batch rather than one per record. In memory, each author touched since start has
//! the set of sequence numbers held, as ranges, so duplicate, equivocation and gap checks of new
//! records need no read.

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

pub fn encode_entries(entries: &[(u64, RecordId)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 40);
    for (seq, id) in entries {
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(id.as_bytes());
    }
    out
}

pub fn decode_entries(value: &[u8]) -> impl Iterator<Item = (u64, RecordId)> + '_ {
    value.chunks_exact(40).map(|c| {
        let seq = u64::from_be_bytes(c[..8].try_into().expect("8 bytes"));
        (seq, RecordId(c[8..].try_into().expect("32 bytes")))
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
        let e = vec![(3, RecordId([1; 32])), (9, RecordId([2; 32]))];
        assert_eq!(decode_entries(&encode_entries(&e)).collect::<Vec<_>>(), e);
    }
}
