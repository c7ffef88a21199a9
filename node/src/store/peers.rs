//! Members' node addresses this node has learnt from proven members, kept across restarts so a
//! node whose bootstraps moved or went away still finds its federation (`peers` tree:
//! peer id bytes → the addresses, each length-prefixed). Only ever written for proven members.

use super::{Store, StoreError};

/// A remembered peer: its id bytes and its addresses' bytes.
pub type Remembered = (Vec<u8>, Vec<Vec<u8>>);

/// Most peers remembered, and addresses per peer.
pub const MAX_REMEMBERED: usize = 1024;
const MAX_ADDRESSES: usize = 8;

fn encode(addresses: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addresses.iter().take(MAX_ADDRESSES) {
        out.extend_from_slice(&(a.len() as u16).to_be_bytes());
        out.extend_from_slice(a);
    }
    out
}

fn decode(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?) as usize;
        out.push(bytes.get(2..2 + len)?.to_vec());
        bytes = &bytes[2 + len..];
    }
    Some(out)
}

impl Store {
    /// Remembers where a member's node listens (raw peer id and multiaddr bytes).
    pub fn remember_peer(&self, peer: &[u8], addresses: &[Vec<u8>]) -> Result<(), StoreError> {
        if addresses.is_empty() || (self.peers.len() >= MAX_REMEMBERED && !self.peers.contains_key(peer)?) {
            return Ok(());
        }
        self.peers.insert(peer, encode(addresses))?;
        Ok(())
    }

    /// Every remembered peer and its addresses; malformed entries are skipped.
    pub fn remembered_peers(&self) -> Result<Vec<Remembered>, StoreError> {
        let mut out = Vec::new();
        for entry in self.peers.iter() {
            let (k, v) = entry?;
            if let Some(addresses) = decode(&v) {
                out.push((k.to_vec(), addresses));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_round_trip_and_garbage_is_refused() {
        let addresses = vec![b"/ip4/127.0.0.1/tcp/1".to_vec(), vec![]];
        assert_eq!(super::decode(&super::encode(&addresses)), Some(addresses));
        assert_eq!(super::decode(&[0, 9, 1]), None);
    }
}
