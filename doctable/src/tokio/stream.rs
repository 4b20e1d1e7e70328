//! Rows from a worker to async code in chunks, through a bounded channel.

use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::sync::mpsc;

use crate::error::{Error, Result};

/// How many chunks wait in the channel while the reader is busy: with the
/// one the worker is filling and the one the reader holds, memory holds at
/// most three chunks, whatever the size of the result.
pub(super) const CHUNKS_IN_FLIGHT: usize = 1;

/// The chunks of rows a [`Db::stream`](super::Db::stream) or
/// [`Db::stream_with`](super::Db::stream_with) reads, in order: a
/// [`Stream`](futures_core::Stream) of `doctable::Result<Vec<R>>`, also
/// readable without any stream combinators through [`next`](ChunkStream::next).
///
/// After an `Err` item the stream ends. Dropping it stops the scan on the
/// worker at its next chunk (no more rows are read), and frees the worker.
#[derive(Debug)]
pub struct ChunkStream<R> {
    rows: mpsc::Receiver<Result<Vec<R>>>,
}

impl<R> ChunkStream<R> {
    pub(super) fn new(rows: mpsc::Receiver<Result<Vec<R>>>) -> Self {
        ChunkStream { rows }
    }

    /// A stream whose one item is `error`.
    pub(super) fn failed(error: Error) -> Self {
        let (sender, rows) = mpsc::channel(1);
        // A new channel with room for one: this cannot fail, and if it
        // could, the stream would end at once (the sender is dropped here).
        let _ = sender.try_send(Err(error));
        ChunkStream { rows }
    }

    /// The next chunk, or `None` after the last one.
    pub async fn next(&mut self) -> Option<Result<Vec<R>>> {
        self.rows.recv().await
    }
}

impl<R> futures_core::Stream for ChunkStream<R> {
    type Item = Result<Vec<R>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows.poll_recv(cx)
    }
}

/// Where a [`Db::stream_with`](super::Db::stream_with) closure sends its
/// chunks, on the worker thread.
#[derive(Debug)]
pub struct ChunkSender<R> {
    rows: mpsc::Sender<Result<Vec<R>>>,
}

impl<R> ChunkSender<R> {
    pub(super) fn new(rows: mpsc::Sender<Result<Vec<R>>>) -> Self {
        ChunkSender { rows }
    }

    /// Hands `chunk` to the stream, waiting (on the worker thread) while the
    /// reader has not taken the chunk before it: the scan goes at the
    /// reader's pace. Fails with [`Error::Closed`] once the stream is
    /// dropped: return the error (`sink.send(rows)?`) to stop the scan.
    pub fn send(&self, chunk: Vec<R>) -> Result<()> {
        self.rows
            .blocking_send(Ok(chunk))
            .map_err(|_| Error::Closed)
    }

    /// Ends the stream with `error`, unless the reader is gone.
    pub(super) fn fail(&self, error: Error) {
        if !self.rows.is_closed() {
            let _ = self.rows.blocking_send(Err(error));
        }
    }
}
