//! Newline-delimited framing with a bound: bytes in, whole lines (or the head of a line that was too
//! long) out. Pure and synchronous, so it can be fuzzed and replayed without a runtime.

/// The longest line accepted: 16 MiB, as rmcp's own stdio transport and HTTP client allow.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// How much of an oversize line is kept to read its `id` from.
pub const HEAD: usize = 4096;

/// One framed unit of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole line, without its `\n` (a trailing `\r` is kept: the checker drops it).
    Line(Vec<u8>),
    /// A line longer than the limit: its first [`HEAD`] bytes and its length so far.
    Oversize {
        /// The first bytes, where the `id` usually is.
        head: Vec<u8>,
        /// How many bytes the line had (at least the limit plus one).
        len: usize,
    },
}

/// Splits a byte stream into lines of at most `max` bytes; longer lines are reported once, by
/// their head, and their remaining bytes are skipped up to the next newline.
#[derive(Debug)]
pub struct LineReader {
    max: usize,
    buf: Vec<u8>,
    /// Set while skipping the rest of an oversize line: its head and the bytes seen so far.
    skipping: Option<(Vec<u8>, usize)>,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader::new(MAX_LINE)
    }
}

impl LineReader {
    /// A reader that refuses lines over `max` bytes.
    pub fn new(max: usize) -> Self {
        LineReader { max: max.max(1), buf: Vec::new(), skipping: None }
    }

    /// Feeds `chunk`, appending every frame it completes to `out`. Memory stays within `max`
    /// bytes (plus the head of an oversize line) whatever the input.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Frame>) {
        while !chunk.is_empty() {
            let newline = memchr::memchr(b'\n', chunk);
            let (part, rest) = chunk.split_at(newline.unwrap_or(chunk.len()));
            if let Some((_, seen)) = self.skipping.as_mut() {
                *seen = seen.saturating_add(part.len());
            } else if self.buf.len() + part.len() > self.max {
                let mut head = std::mem::take(&mut self.buf);
                let seen = head.len() + part.len();
                let room = HEAD.saturating_sub(head.len());
                head.extend_from_slice(&part[..part.len().min(room)]);
                head.truncate(HEAD);
                head.shrink_to_fit();
                self.skipping = Some((head, seen));
            } else {
                self.buf.extend_from_slice(part);
            }
            chunk = match newline {
                Some(_) => {
                    self.end_line(out);
                    &rest[1..]
                }
                None => rest,
            };
        }
    }

    /// The end of the input: a last line without a newline is still a line.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.skipping.is_some() || !self.buf.is_empty() {
            self.end_line(out);
        }
    }

    fn end_line(&mut self, out: &mut Vec<Frame>) {
        match self.skipping.take() {
            Some((head, len)) => out.push(Frame::Oversize { head, len }),
            None => {
                // Keep a modest buffer for the next line; give a big one back.
                let line = if self.buf.capacity() > 64 * 1024 {
                    std::mem::take(&mut self.buf)
                } else {
                    let line = self.buf.clone();
                    self.buf.clear();
                    line
                };
                out.push(Frame::Line(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        for c in chunks {
            reader.push(c, &mut out);
        }
        reader.finish(&mut out);
        out
    }

    #[test]
    fn lines_split_across_chunks_and_oversize_lines_keep_their_head() {
        assert_eq!(
            frames(8, &[b"ab", b"c\nde\n", b"f"]),
            vec![Frame::Line(b"abc".to_vec()), Frame::Line(b"de".to_vec()), Frame::Line(b"f".to_vec())]
        );
        assert_eq!(
            frames(4, &[b"12", b"345", b"67\nok\n"]),
            vec![Frame::Oversize { head: b"12345".to_vec(), len: 7 }, Frame::Line(b"ok".to_vec())]
        );
        assert_eq!(frames(4, &[b"\n\n"]), vec![Frame::Line(vec![]), Frame::Line(vec![])]);
    }
}
