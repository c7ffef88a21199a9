//! The handshake and sync protocols' messages and their framing: a 4-byte big-endian length, then
//! the bincode encoding of the message. Every frame is bounded: a hello by [`MAX_HELLO_FRAME`]
//! (the only protocol a peer that has proved nothing can open), a sync frame by [`MAX_FRAME`].

use std::io;
use std::marker::PhantomData;

use bincode::{Decode, Encode};
use futures::prelude::*;
use libp2p::{Multiaddr, StreamProtocol};

/// The handshake protocol: the only one a peer that has proved nothing can speak.
pub const HELLO_PROTOCOL: StreamProtocol = StreamProtocol::new("/lantern/hello/2");
/// Catch-up and peer exchange, on connections to proven members only (gate.rs).
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/lantern/sync/3");
/// Largest hello frame: a named proof is about 100 bytes, an anonymous proof about 1–2 KiB
/// (with the ring it is over, when that is small: [`MAX_CARRIED_RING`]).
pub const MAX_HELLO_FRAME: usize = 16 * 1024;
/// Largest ring record a hello carries (about 350 members); larger rings must be held already.
pub const MAX_CARRIED_RING: usize = 12 * 1024;
/// Largest sync frame either side accepts.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Negentropy frame limit: well inside [`MAX_FRAME`].
pub const RECONCILE_FRAME: u64 = 1024 * 1024;
/// Most ids asked for in one fetch.
pub const MAX_FETCH_IDS: usize = 8192;
/// Most peers one peer-exchange answer lists, and addresses per peer.
pub const MAX_PEERS_LISTED: usize = 256;
pub const MAX_ADDRESSES: usize = 8;

/// How a node proves it serves a current member.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Proof {
    /// The member key and its signature over this connection: names the member to this peer.
    /// Used only when an anonymous proof is not possible (a ring below k, a peer that does not
    /// know the ring).
    Named { member: [u8; 32], signature: Vec<u8> },
    /// A ring proof over the current members' anonymity keys, bound to both peer ids: says
    /// "some current member", not which.
    Anonymous {
        /// The ring record's id, and the ring record itself when it is small.
        ring: [u8; 32],
        ring_record: Option<Vec<u8>>,
        tag: [u8; 32],
        proof: Vec<u8>,
    },
}

/// The dialler's proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct HelloRequest {
    pub proof: Proof,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum HelloResponse {
    /// The dialler's proof verified: the listener's own, of the same kind (over the same ring).
    Hello { proof: Proof },
    /// Why the listener will close the connection; nothing about the federation.
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// A negentropy message over record ids.
    Reconcile { message: Vec<u8> },
    /// The records with these ids.
    Fetch { ids: Vec<[u8; 32]> },
    /// Where the responder and the members it is connected to listen.
    Peers,
    /// Records the asker made, for the responder to store and gossip as its own: one stem hop,
    /// so the author's node is not where they first appear (at most [`MAX_RELAYED`]).
    Relay { records: Vec<Vec<u8>> },
}

/// Most records one relay request carries.
pub const MAX_RELAYED: usize = 16;

/// A peer and the addresses it listens on, as raw bytes (peer id, multiaddrs).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PeerAddresses {
    pub peer: Vec<u8>,
    pub addresses: Vec<Vec<u8>>,
}

impl PeerAddresses {
    pub fn new(peer: &libp2p::PeerId, addresses: &[Multiaddr]) -> Self {
        Self { peer: peer.to_bytes(), addresses: addresses.iter().take(MAX_ADDRESSES).map(|a| a.to_vec()).collect() }
    }

    /// The peer and its well-formed addresses; `None` if the peer id is malformed.
    pub fn parse(&self) -> Option<(libp2p::PeerId, Vec<Multiaddr>)> {
        let peer = libp2p::PeerId::from_bytes(&self.peer).ok()?;
        let addresses =
            self.addresses.iter().take(MAX_ADDRESSES).filter_map(|a| Multiaddr::try_from(a.clone()).ok()).collect();
        Some((peer, addresses))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Response {
    Reconcile {
        message: Vec<u8>,
    },
    /// Records found, as signed bytes; fewer than asked when the frame would overflow.
    Records {
        records: Vec<Vec<u8>>,
    },
    /// The responder first, then the members it is connected to.
    Peers {
        peers: Vec<PeerAddresses>,
    },
    /// The relayed records were taken (each stored, or held already).
    Relayed,
    /// The request was refused (malformed, busy).
    Refused {
        reason: String,
    },
}

/// Length-prefixed bincode frames of at most `MAX` bytes.
pub struct Codec<Req, Resp, const MAX: usize>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp, const MAX: usize> Default for Codec<Req, Resp, MAX> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req, Resp, const MAX: usize> Clone for Codec<Req, Resp, MAX> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

pub type HelloCodec = Codec<HelloRequest, HelloResponse, MAX_HELLO_FRAME>;
pub type SyncCodec = Codec<Request, Response, MAX_FRAME>;

async fn read_frame<T: AsyncRead + Unpin + Send, M: Decode<()>, const MAX: usize>(io: &mut T) -> io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes over {MAX}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    decode_frame::<M, MAX>(&buf)
}

/// The body of a frame carrying `msg` (what follows its length prefix).
pub fn encode_frame<M: Encode>(msg: &M) -> Vec<u8> {
    bincode::encode_to_vec(msg, bincode::config::standard()).unwrap_or_default()
}

/// Decodes one frame's body (what follows its length) as a message: bincode, at most `MAX`
/// bytes, nothing left over. Pure, so the fuzz targets reach exactly what a peer's bytes reach.
pub fn decode_frame<M: Decode<()>, const MAX: usize>(buf: &[u8]) -> io::Result<M> {
    if buf.len() > MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {} bytes over {MAX}", buf.len())));
    }
    let config = bincode::config::standard().with_limit::<MAX>();
    let (msg, read) =
        bincode::decode_from_slice(buf, config).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if read != buf.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "trailing bytes in frame"));
    }
    Ok(msg)
}

async fn write_frame<T: AsyncWrite + Unpin + Send, M: Encode, const MAX: usize>(io: &mut T, msg: M) -> io::Result<()> {
    let buf = bincode::encode_to_vec(msg, bincode::config::standard())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    if buf.len() > MAX {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame too large"));
    }
    io.write_all(&(buf.len() as u32).to_be_bytes()).await?;
    io.write_all(&buf).await?;
    io.close().await
}

impl<Req, Resp, const MAX: usize> libp2p::request_response::Codec for Codec<Req, Resp, MAX>
where
    Req: Encode + Decode<()> + Send + 'static,
    Resp: Encode + Decode<()> + Send + 'static,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req> {
        read_frame::<_, _, MAX>(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp> {
        read_frame::<_, _, MAX>(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Req,
    ) -> io::Result<()> {
        write_frame::<_, _, MAX>(io, req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()> {
        write_frame::<_, _, MAX>(io, res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_frames_are_refused() {
        futures::executor::block_on(async {
            let msg = Request::Fetch { ids: vec![[7; 32]; 3] };
            let mut buf = Vec::new();
            write_frame::<_, _, MAX_FRAME>(&mut futures::io::Cursor::new(&mut buf), msg.clone()).await.unwrap();
            let back: Request = read_frame::<_, _, MAX_FRAME>(&mut futures::io::Cursor::new(&buf)).await.unwrap();
            assert_eq!(back, msg);

            let mut huge = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
            huge.extend_from_slice(&[0; 16]);
            let err = read_frame::<_, Request, MAX_FRAME>(&mut futures::io::Cursor::new(&huge)).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);

            let mut garbage = 5u32.to_be_bytes().to_vec();
            garbage.extend_from_slice(&[9, 9, 9, 9, 9]);
            assert!(read_frame::<_, Request, MAX_FRAME>(&mut futures::io::Cursor::new(&garbage)).await.is_err());

            // A hello frame is refused past its own, much smaller, limit.
            let mut big_hello = ((MAX_HELLO_FRAME + 1) as u32).to_be_bytes().to_vec();
            big_hello.extend_from_slice(&[0; 16]);
            let err = read_frame::<_, HelloRequest, MAX_HELLO_FRAME>(&mut futures::io::Cursor::new(&big_hello))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        });
    }
}
