//! Bodies on both sides of the server: collecting small request bodies,
//! streaming large ones into blobs, and streaming blobs out.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use crate::plugins::Runtime;

/// Bodies larger than this are refused unless they stream into a blob.
pub const MAX_BUFFERED_BODY: usize = 512 << 20;
/// Chunk size when streaming a blob out.
const CHUNK: u64 = 1 << 20;

/// A response body: bytes in hand, or a blob streamed from the host's store.
pub enum ResponseBody {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
        remaining: u64,
    },
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody::Full(None)
    }
    pub fn from_bytes(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        ResponseBody::Full((!b.is_empty()).then_some(b))
    }

    /// Streams `[start, end)` of a blob, reading 1 MiB at a time so memory
    /// stays flat whatever the blob's size.
    pub fn blob(
        runtime: std::sync::Arc<Runtime>,
        plugin: String,
        id: String,
        start: u64,
        end: u64,
    ) -> Self {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut offset = start;
            while offset < end {
                let len = CHUNK.min(end - offset);
                match runtime.blobs.read(&plugin, &id, offset, len).await {
                    Ok(bytes) if !bytes.is_empty() => {
                        offset += bytes.len() as u64;
                        if tx.send(Ok(bytes)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {
                        let _ = tx
                            .send(Err(std::io::Error::other("blob ended early")))
                            .await;
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                }
            }
        });
        ResponseBody::Stream {
            rx,
            remaining: end.saturating_sub(start),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { rx, remaining } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    *remaining = remaining.saturating_sub(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Full(b) => b.is_none(),
            ResponseBody::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            ResponseBody::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Io(String),
}

/// Collects a request body up to [`MAX_BUFFERED_BODY`].
pub async fn collect<B>(body: B) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limited = http_body_util::Limited::new(body, MAX_BUFFERED_BODY);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ReadError::TooLarge)
        }
        Err(e) => Err(ReadError::Io(e.to_string())),
    }
}

/// Streams a request body into a new blob of `plugin`, frame by frame.
pub async fn into_blob<B>(
    runtime: &Runtime,
    plugin: &str,
    mut body: B,
) -> Result<ministack_state::blobs::BlobInfo, ReadError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut writer = runtime
        .blobs
        .writer(plugin)
        .map_err(|e| ReadError::Io(e.to_string()))?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Io(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            writer
                .write(&data)
                .await
                .map_err(|e| ReadError::Io(e.to_string()))?;
        }
    }
    writer
        .finish()
        .await
        .map_err(|e| ReadError::Io(e.to_string()))
}
