//! The stdio transport: our own newline framing in front of rmcp, so every request gets a reply.
//! rmcp's transport drops a line that is not JSON, too long, or a second request with a running
//! id; here each line passes the [`gate`] first and is answered by us when rmcp would not answer.

pub mod gate;
pub mod lines;

use gate::{Gate, Verdict};
use lines::{Frame, LineReader};
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// At most `max` characters of `s`, with `…` when cut: for echoing input in messages.
pub fn short(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A [`Transport`] over a reader and a writer (stdin and stdout) with our framing.
pub struct Framed<R, W> {
    read: R,
    reader: LineReader,
    gate: Gate,
    frames: VecDeque<Frame>,
    chunk: Box<[u8]>,
    eof: bool,
    write: Arc<Mutex<Option<W>>>,
    replies: tokio::task::JoinSet<()>,
}

impl<R, W> Framed<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    /// Framing over `read` and `write`.
    pub fn new(read: R, write: W) -> Self {
        Framed {
            read,
            reader: LineReader::default(),
            gate: Gate::new(),
            frames: VecDeque::new(),
            chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
            eof: false,
            write: Arc::new(Mutex::new(Some(write))),
            replies: tokio::task::JoinSet::new(),
        }
    }
}

/// Writes one line under the lock, so messages never interleave.
async fn write_line<W: AsyncWrite + Unpin>(write: &Mutex<Option<W>>, mut bytes: Vec<u8>) -> std::io::Result<()> {
    bytes.push(b'\n');
    let mut guard = write.lock().await;
    let Some(w) = guard.as_mut() else {
        return Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "stdout is closed"));
    };
    w.write_all(&bytes).await?;
    w.flush().await
}

impl<R, W> Transport<RoleServer> for Framed<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        mut item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // rmcp answers some methods it does not dispatch (subscriptions, tasks) with only their name.
        if let JsonRpcMessage::Error(e) = &mut item
            && e.error.code == rmcp::model::ErrorCode::METHOD_NOT_FOUND
            && !e.error.message.contains(' ')
        {
            e.error.message = crate::server::not_served(&e.error.message).into();
        }
        let id = match &item {
            JsonRpcMessage::Response(r) => Some(&r.id),
            JsonRpcMessage::Error(e) => e.id.as_ref(),
            _ => None,
        };
        if let Some(key) = id.and_then(|id| serde_json::to_string(id).ok()) {
            self.gate.in_flight.finish(&key);
        }
        let bytes = serde_json::to_vec(&item).map_err(std::io::Error::other);
        let write = self.write.clone();
        async move { write_line(&write, bytes?).await }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            while let Some(frame) = self.frames.pop_front() {
                match self.gate.admit(frame) {
                    Verdict::Pass(m) => return Some(*m),
                    Verdict::Ignore => {}
                    Verdict::Reply(v) => {
                        // Written by its own task: `receive` may be dropped inside rmcp's select.
                        let write = self.write.clone();
                        let bytes = serde_json::to_vec(&v).unwrap_or_default();
                        self.replies.spawn(async move {
                            if let Err(e) = write_line(&write, bytes).await {
                                tracing::warn!("could not answer a malformed message: {e}");
                            }
                        });
                    }
                }
            }
            while self.replies.try_join_next().is_some() {}
            if self.eof {
                // Our own answers go out before rmcp learns the input has ended.
                while self.replies.join_next().await.is_some() {}
                return None;
            }
            let mut out = Vec::new();
            // `read` is cancel-safe: nothing is consumed unless it completes.
            match self.read.read(&mut self.chunk).await {
                Ok(0) => {
                    self.eof = true;
                    self.reader.finish(&mut out);
                }
                Ok(n) => self.reader.push(&self.chunk[..n], &mut out),
                Err(e) => {
                    tracing::warn!("stdin failed: {e}");
                    self.eof = true;
                }
            }
            self.frames.extend(out);
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        let mut guard = self.write.lock().await;
        if let Some(mut w) = guard.take() {
            w.flush().await?;
        }
        Ok(())
    }
}

/// The server's stdin and stdout, framed.
pub fn stdio() -> Framed<rmcp::transport::StdioReader, rmcp::transport::StdioWriter> {
    let (read, write) = rmcp::transport::stdio_pipes();
    Framed::new(read, write)
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_cuts_on_characters() {
        assert_eq!(super::short("héllo", 2), "hé…");
        assert_eq!(super::short("hi", 2), "hi");
    }
}
