//! The load generator's HTTP/1.1 client for the timed requests.
//!
//! The benchmark shares two cores with the server, so every microsecond the client
//! spends is one the server does not get. reqwest (hyper-util's pool) runs each
//! connection in a task of its own and hands every request and answer across a
//! channel between tasks, ~0.3 ms of CPU per login here. This client does what a load
//! generator such as wrk does: the calling task writes the whole request in one
//! `write` on a kept-alive connection and parses the answer with `httparse` (hyper's
//! own parser) in the same task. It measures nothing differently: a login's latency is
//! still from the request being due to the last byte of its answer.
//!
//! It speaks exactly what the benchmark needs: `GET` and `POST`, `Content-Length` or
//! chunked answers, keep-alive (and `Connection: close`). Untimed traffic (set-up, the
//! IdP's signing) keeps reqwest.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest answer head accepted (the server's are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;
/// Largest answer body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Kept-alive connections to one `http://host:port` server, shared by the clients.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    host: Arc<str>,
    idle: Arc<Mutex<Vec<Conn>>>,
}

/// One connection and the bytes read from it but not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An answer: status, `Location` (the only header the flow reads) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    /// `base` is `http://host:port` (no path; https is not needed against a local
    /// server).
    pub fn new(base: &str) -> Result<Self> {
        let url = url::Url::parse(base).with_context(|| format!("base URL {base}"))?;
        if url.scheme() != "http" {
            bail!(
                "the benchmark client speaks plain http, not {}",
                url.scheme()
            );
        }
        let host = url
            .host_str()
            .ok_or_else(|| anyhow!("{base} has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = (host, port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| anyhow!("{host} resolves to nothing"))?;
        Ok(Client {
            addr,
            host: format!("{host}:{port}").into(),
            idle: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// `GET path` (path and query, already encoded) with extra header lines.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response> {
        self.send("GET", path, headers, None).await
    }

    /// `POST path` with a form body.
    pub async fn post_form(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response> {
        self.send(
            "POST",
            path,
            headers,
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Response> {
        let request = encode(method, path, &self.host, headers, body);
        let reused = self.take();
        let was_reused = reused.is_some();
        let mut conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        let outcome = match conn.round_trip(&request).await {
            // A kept-alive connection the server closed while it sat idle fails before
            // any answer arrives; the request never reached the server, so it is sent
            // once more on a new connection.
            Err(RoundTrip::ClosedBeforeAnswer) if was_reused => {
                conn = self.connect().await?;
                conn.round_trip(&request).await
            }
            other => other,
        };
        match outcome {
            Ok((response, keep_alive)) => {
                if keep_alive {
                    self.put(conn);
                }
                Ok(response)
            }
            Err(RoundTrip::ClosedBeforeAnswer) => {
                bail!("{method} {path}: the server closed the connection without answering")
            }
            Err(RoundTrip::Failed(e)) => Err(e.context(format!("{method} {path}"))),
        }
    }

    fn take(&self) -> Option<Conn> {
        self.idle.lock().ok()?.pop()
    }

    fn put(&self, conn: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<Conn> {
        let stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        })
    }
}

/// The request as one buffer, so it leaves in one `write`.
fn encode(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let body_len = body.map_or(0, |(_, b)| b.len());
    let mut out = Vec::with_capacity(256 + body_len);
    for part in [method, " ", path, " HTTP/1.1\r\nHost: ", host, "\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    for (name, value) in headers {
        for part in [*name, ": ", *value, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
    }
    if let Some((content_type, body)) = body {
        let length = body.len().to_string();
        for part in [
            "Content-Type: ",
            content_type,
            "\r\nContent-Length: ",
            &length,
            "\r\n",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    if let Some((_, body)) = body {
        out.extend_from_slice(body);
    }
    out
}

enum RoundTrip {
    /// The connection ended before a single byte of the answer.
    ClosedBeforeAnswer,
    Failed(anyhow::Error),
}

impl From<std::io::Error> for RoundTrip {
    fn from(e: std::io::Error) -> Self {
        RoundTrip::Failed(e.into())
    }
}

/// How the body of an answer is delimited.
enum Framing {
    Length(usize),
    Chunked,
    /// Neither: the body runs to the end of the connection.
    UntilClose,
}

impl Conn {
    /// Write `request`, read one answer; whether the connection can be used again.
    async fn round_trip(&mut self, request: &[u8]) -> Result<(Response, bool), RoundTrip> {
        self.buf.clear();
        if let Err(e) = self.stream.write_all(request).await {
            return Err(match e.kind() {
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => RoundTrip::ClosedBeforeAnswer,
                _ => e.into(),
            });
        }
        let Head {
            len: head_len,
            status,
            location,
            framing,
            mut keep_alive,
        } = loop {
            if let Some(head) = parse_head(&self.buf).map_err(RoundTrip::Failed)? {
                break head;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(RoundTrip::Failed(anyhow!(
                    "answer head over {MAX_HEAD} bytes"
                )));
            }
            match self.fill().await {
                Ok(0) if self.buf.is_empty() => return Err(RoundTrip::ClosedBeforeAnswer),
                Err(e) if self.buf.is_empty() && e.kind() == ErrorKind::ConnectionReset => {
                    return Err(RoundTrip::ClosedBeforeAnswer)
                }
                Ok(0) => {
                    return Err(RoundTrip::Failed(anyhow!(
                        "connection closed inside the answer head"
                    )))
                }
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        };
        let body = match framing {
            Framing::Length(n) => {
                if n > MAX_BODY {
                    return Err(RoundTrip::Failed(anyhow!("answer body of {n} bytes")));
                }
                while self.buf.len() < head_len + n {
                    if self.fill().await? == 0 {
                        return Err(RoundTrip::Failed(anyhow!(
                            "connection closed inside the answer body"
                        )));
                    }
                }
                self.buf[head_len..head_len + n].to_vec()
            }
            Framing::Chunked => self.read_chunked(head_len).await?,
            Framing::UntilClose => {
                keep_alive = false;
                while self.fill().await? > 0 {
                    if self.buf.len() > head_len + MAX_BODY {
                        return Err(RoundTrip::Failed(anyhow!("answer body too large")));
                    }
                }
                self.buf[head_len..].to_vec()
            }
        };
        Ok((
            Response {
                status,
                location,
                body,
            },
            keep_alive,
        ))
    }

    /// Read more bytes into the buffer; 0 at the end of the connection.
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(8 * 1024);
        }
        self.stream.read_buf(&mut self.buf).await
    }

    /// A chunked body starting at `at`.
    async fn read_chunked(&mut self, mut at: usize) -> Result<Vec<u8>, RoundTrip> {
        let mut body = Vec::new();
        loop {
            match httparse::parse_chunk_size(&self.buf[at..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    let size = usize::try_from(size)
                        .ok()
                        .filter(|s| body.len() + s <= MAX_BODY)
                        .ok_or_else(|| RoundTrip::Failed(anyhow!("chunk too large")))?;
                    // The chunk's data and its closing CRLF.
                    let end = at + used + size + 2;
                    while self.buf.len() < end {
                        if self.fill().await? == 0 {
                            return Err(RoundTrip::Failed(anyhow!(
                                "connection closed inside a chunk"
                            )));
                        }
                    }
                    if size == 0 {
                        // No trailers are sent by the server.
                        return Ok(body);
                    }
                    body.extend_from_slice(&self.buf[at + used..at + used + size]);
                    at = end;
                }
                Ok(httparse::Status::Partial) => {
                    if self.fill().await? == 0 {
                        return Err(RoundTrip::Failed(anyhow!(
                            "connection closed inside a chunk size"
                        )));
                    }
                }
                Err(_) => return Err(RoundTrip::Failed(anyhow!("invalid chunk size"))),
            }
        }
    }
}

/// What the answer head says.
struct Head {
    /// Its length in bytes.
    len: usize,
    status: u16,
    location: Option<String>,
    framing: Framing,
    /// Whether the connection stays open after the answer.
    keep_alive: bool,
}

/// The answer head, once all of it has arrived.
fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let len = match head.parse(buf).context("malformed answer head")? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = head.code.ok_or_else(|| anyhow!("answer without status"))?;
    let mut location = None;
    let mut framing = Framing::UntilClose;
    let mut keep_alive = head.version == Some(1);
    for h in head.headers.iter() {
        let value = std::str::from_utf8(h.value).context("header value not UTF-8")?;
        if h.name.eq_ignore_ascii_case("location") {
            location = Some(value.to_string());
        } else if h.name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(value.trim().parse().context("Content-Length")?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().contains("chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    // Answers that never have a body.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some(Head {
        len,
        status,
        location,
        framing,
        keep_alive,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that reads one request per answer in `answers` on one connection,
    /// closing it after the last, and returns the requests it read.
    async fn serve(answers: Vec<&'static str>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut seen = Vec::new();
            for answer in answers {
                let mut buf = vec![0u8; 64 * 1024];
                let n = socket.read(&mut buf).await.expect("read");
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                socket.write_all(answer.as_bytes()).await.expect("write");
            }
            seen
        });
        (base, task)
    }

    #[tokio::test]
    async fn a_request_leaves_whole_and_an_answer_is_read_by_its_length() {
        let (base, server) = serve(vec![
            "HTTP/1.1 303 See Other\r\nLocation: https://app/cb?code=1\r\ncontent-length: 5\r\n\r\nhello",
        ])
        .await;
        let client = Client::new(&base).expect("client");
        let res = client
            .post_form(
                "/api/oauth/saml",
                &[("Authorization", "Basic x")],
                b"a=1&b=2",
            )
            .await
            .expect("answer");
        assert_eq!(res.status, 303);
        assert_eq!(res.location.as_deref(), Some("https://app/cb?code=1"));
        assert_eq!(res.body, b"hello");
        let seen = server.await.expect("server");
        assert!(seen[0].starts_with("POST /api/oauth/saml HTTP/1.1\r\nHost: 127.0.0.1:"));
        assert!(seen[0].contains("\r\nAuthorization: Basic x\r\n"));
        assert!(seen[0].contains("\r\nContent-Length: 7\r\n"));
        assert!(seen[0].ends_with("\r\n\r\na=1&b=2"));
    }

    #[tokio::test]
    async fn a_chunked_answer_is_reassembled_and_the_connection_is_reused() {
        let (base, server) = serve(vec![
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        ])
        .await;
        let client = Client::new(&base).expect("client");
        let first = client.get("/a", &[]).await.expect("first");
        assert_eq!(first.body, b"abcde");
        // The second request goes over the same connection (the server accepts once).
        let second = client.get("/b?x=1", &[]).await.expect("second");
        assert_eq!(second.text(), "ok");
        let seen = server.await.expect("server");
        assert!(seen[1].starts_with("GET /b?x=1 HTTP/1.1\r\n"));
    }

    #[tokio::test]
    async fn a_connection_closed_mid_answer_is_an_error_not_a_short_body() {
        let (base, server) =
            serve(vec!["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]).await;
        let client = Client::new(&base).expect("client");
        let err = client.get("/", &[]).await.expect_err("short body");
        assert!(
            format!("{err:#}").contains("inside the answer body"),
            "{err:#}"
        );
        server.await.expect("server");
    }

    #[tokio::test]
    async fn an_idle_connection_the_server_closed_is_replaced_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            // First connection: one answer, then closed while idle.
            let (mut first, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let _ = first.read(&mut buf).await.expect("read");
            first
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1")
                .await
                .expect("write");
            drop(first);
            // Second connection: the retried request.
            let (mut second, _) = listener.accept().await.expect("accept");
            let _ = second.read(&mut buf).await.expect("read");
            second
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2")
                .await
                .expect("write");
        });
        let client = Client::new(&base).expect("client");
        assert_eq!(client.get("/", &[]).await.expect("first").body, b"1");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(client.get("/", &[]).await.expect("retried").body, b"2");
        server.await.expect("server");
    }

    #[test]
    fn an_https_base_is_refused() {
        assert!(Client::new("https://127.0.0.1:1").is_err());
    }
}
