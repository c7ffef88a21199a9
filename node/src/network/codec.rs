//! The sync protocol's messages and their framing: a 4-byte big-endian length, then the bincode
//! encoding of the message. Every frame is bounded, so a peer cannot make us allocate more than
//! [`MAX_FRAME`].

use std::io;

use bincode::{Decode, Encode};
use futures::prelude::*;
use libp2p::StreamProtocol;

/// The request-response protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/lantern/sync/1");
/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Negentropy frame limit: well inside [`MAX_FRAME`].
pub const RECONCILE_FRAME: u64 = 1024 * 1024;
/// Most ids asked for in one fetch.
pub const MAX_FETCH_IDS: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// "This node serves this member": the member-signed node-binding record.
    Hello { binding: Vec<u8> },
    /// A negentropy message over record ids.
    Reconcile { message: Vec<u8> },
    /// The records with these ids.
    Fetch { ids: Vec<[u8; 32]> },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Response {
    Hello {
        binding: Vec<u8>,
    },
    Reconcile {
        message: Vec<u8>,
    },
    /// Records found, as signed bytes; fewer than asked when the frame would overflow.
    Records {
        records: Vec<Vec<u8>>,
    },
    /// The request was refused (not authenticated, malformed, busy).
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Codec;

const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_FRAME>,
> = bincode::config::standard().with_limit::<MAX_FRAME>();

async fn read_frame<T: AsyncRead + Unpin + Send, M: Decode<()>>(io: &mut T) -> io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes over {MAX_FRAME}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    let (msg, read) =
        bincode::decode_from_slice(&buf, CONFIG).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if read != len {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "trailing bytes in frame"));
    }
    Ok(msg)
}

async fn write_frame<T: AsyncWrite + Unpin + Send, M: Encode>(io: &mut T, msg: M) -> io::Result<()> {
    let buf = bincode::encode_to_vec(msg, bincode::config::standard())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    if buf.len() > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame too large"));
    }
    io.write_all(&(buf.len() as u32).to_be_bytes()).await?;
    io.write_all(&buf).await?;
    io.close().await
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Request> {
        read_frame(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Response> {
        read_frame(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()> {
        write_frame(io, req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()> {
        write_frame(io, res).await
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
            write_frame(&mut futures::io::Cursor::new(&mut buf), msg.clone()).await.unwrap();
            let back: Request = read_frame(&mut futures::io::Cursor::new(&buf)).await.unwrap();
            assert_eq!(back, msg);

            let mut huge = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
            huge.extend_from_slice(&[0; 16]);
            let err = read_frame::<_, Request>(&mut futures::io::Cursor::new(&huge)).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);

            let mut garbage = 5u32.to_be_bytes().to_vec();
            garbage.extend_from_slice(&[9, 9, 9, 9, 9]);
            assert!(read_frame::<_, Request>(&mut futures::io::Cursor::new(&garbage)).await.is_err());
        });
    }
}
