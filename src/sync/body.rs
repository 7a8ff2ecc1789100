//! Turning a response body, pushed in network chunks, into bytes under hard limits: the bytes
//! on the wire are counted against one limit and, for a gzip body, the inflated bytes against
//! another, as they are produced. A compression bomb stops at the limit plus one inflate
//! buffer; it is never inflated whole into memory.
//!
//! The content codings are gzip (RFC 1952, through `flate2`) and identity; anything else is
//! refused by name. This file does no I/O of its own and never decides what to store.

use std::io::Write;

use flate2::write::GzDecoder;

use super::SyncError;

/// The `Accept-Encoding` the appliance sends for the catalog.
pub const ACCEPT_ENCODING: &str = "gzip";

/// How a body is coded on the wire (`Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
}

impl Coding {
    /// The coding named by a `Content-Encoding` header (absent means identity).
    pub fn from_header(value: Option<&str>) -> Result<Coding, SyncError> {
        let v = value.unwrap_or("").trim();
        match v.to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Coding::Identity),
            // RFC 9110 §8.4.1.3: x-gzip is the same coding.
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            _ => Err(SyncError::Protocol(format!(
                "the server answered with content encoding {:?}; this device asks only for {ACCEPT_ENCODING} or none",
                v.chars().take(40).collect::<String>()
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
        }
    }
}

/// A `Vec` that refuses to grow past `limit`.
struct Capped {
    buf: Vec<u8>,
    limit: u64,
    exceeded: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other("inflated past the limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Sink {
    Plain(Vec<u8>),
    Gzip(Box<GzDecoder<Capped>>),
}

/// A body being received: push chunks, then `finish`.
pub struct BodyReader {
    sink: Sink,
    /// Limit of the decoded body (and of the bytes on the wire).
    limit: u64,
    /// Bytes received from the network so far.
    wire: u64,
}

impl BodyReader {
    /// `expected` is the announced length on the wire, if any (a capacity hint only).
    pub fn new(coding: Coding, limit: u64, expected: Option<u64>) -> BodyReader {
        let hint = expected.unwrap_or(0).min(limit) as usize;
        let sink = match coding {
            Coding::Identity => Sink::Plain(Vec::with_capacity(hint)),
            Coding::Gzip => Sink::Gzip(Box::new(GzDecoder::new(Capped {
                buf: Vec::new(),
                limit,
                exceeded: false,
            }))),
        };
        BodyReader {
            sink,
            limit,
            wire: 0,
        }
    }

    /// Bytes received from the network so far.
    pub fn wire_bytes(&self) -> u64 {
        self.wire
    }

    /// Take one network chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SyncError> {
        let read = self.wire + chunk.len() as u64;
        if read > self.limit {
            return Err(SyncError::TooLarge {
                limit: self.limit,
                read,
            });
        }
        self.wire = read;
        match &mut self.sink {
            Sink::Plain(buf) => {
                buf.extend_from_slice(chunk);
                Ok(())
            }
            Sink::Gzip(dec) => dec.write_all(chunk).map_err(|e| {
                if dec.get_ref().exceeded {
                    SyncError::InflatesTooLarge {
                        limit: self.limit,
                        compressed: read,
                    }
                } else {
                    damaged(&e)
                }
            }),
        }
    }

    /// The whole decoded body, once the network said it is complete.
    pub fn finish(self) -> Result<Vec<u8>, SyncError> {
        match self.sink {
            Sink::Plain(buf) => Ok(buf),
            Sink::Gzip(mut dec) => {
                let ends_early = |e: std::io::Error| {
                    if e.kind() == std::io::ErrorKind::InvalidInput {
                        // flate2's verdict on a stream without a complete, matching trailer.
                        SyncError::Damaged {
                            coding: "gzip",
                            detail: "the gzip stream ends early or its checksum does not match"
                                .into(),
                        }
                    } else {
                        damaged(&e)
                    }
                };
                dec.try_finish().map_err(|e| {
                    if dec.get_ref().exceeded {
                        SyncError::InflatesTooLarge {
                            limit: self.limit,
                            compressed: self.wire,
                        }
                    } else {
                        ends_early(e)
                    }
                })?;
                let mut buf = dec.finish().map_err(ends_early)?.buf;
                buf.shrink_to_fit();
                Ok(buf)
            }
        }
    }
}

fn damaged(e: &std::io::Error) -> SyncError {
    let detail = match e.kind() {
        // The decoder refuses bytes after the end of the gzip stream.
        std::io::ErrorKind::WriteZero => "data after the end of the gzip stream".to_owned(),
        _ => e.to_string(),
    };
    SyncError::Damaged {
        coding: "gzip",
        detail,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read(coding: Coding, limit: u64, body: &[u8], chunk: usize) -> Result<Vec<u8>, SyncError> {
        let mut r = BodyReader::new(coding, limit, Some(body.len() as u64));
        for c in body.chunks(chunk) {
            r.push(c)?;
        }
        r.finish()
    }

    #[test]
    fn gzip_round_trips_in_any_chunking() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = gzip(&data);
        for chunk in [1, 7, 4096, z.len()] {
            assert_eq!(read(Coding::Gzip, 1 << 20, &z, chunk).unwrap(), data);
        }
        assert_eq!(read(Coding::Identity, 1 << 20, &data, 999).unwrap(), data);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let z = gzip(&vec![b' '; 50 << 20]);
        assert!(z.len() < 100_000, "{}", z.len());
        let err = read(Coding::Gzip, 1 << 20, &z, 16 * 1024).unwrap_err();
        let SyncError::InflatesTooLarge { limit, compressed } = err else {
            panic!("{err:?}");
        };
        assert_eq!(limit, 1 << 20);
        // Stopped within the first chunk that crossed the limit.
        assert!(compressed <= 16 * 1024, "{compressed}");
    }

    #[test]
    fn damaged_streams_are_named() {
        let z = gzip(b"{\"hello\": \"world\"}");
        let cut = read(Coding::Gzip, 1024, &z[..z.len() - 3], 5).unwrap_err();
        assert_eq!(
            cut.to_string(),
            "the server's gzip answer is damaged (the gzip stream ends early or its checksum does not match); the catalog was not installed"
        );
        let mut trailing = z.clone();
        trailing.extend_from_slice(b"xyz");
        let err = read(Coding::Gzip, 1024, &trailing, 1024).unwrap_err();
        assert_eq!(err.to_string(), "the server's gzip answer is damaged (data after the end of the gzip stream); the catalog was not installed");
        let err = read(Coding::Gzip, 1024, b"not gzip at all", 1024).unwrap_err();
        assert!(matches!(err, SyncError::Damaged { .. }), "{err:?}");
    }

    #[test]
    fn codings_by_name() {
        assert_eq!(Coding::from_header(None).unwrap(), Coding::Identity);
        assert_eq!(Coding::from_header(Some("GZIP")).unwrap(), Coding::Gzip);
        assert_eq!(Coding::from_header(Some("x-gzip")).unwrap(), Coding::Gzip);
        assert_eq!(
            Coding::from_header(Some("br")).unwrap_err().to_string(),
            "the server sent something this device cannot use: the server answered with content encoding \"br\"; this device asks only for gzip or none"
        );
    }
}
