//! [`CutProxy`]: a TCP proxy between a client and a PostgreSQL server that can cut a
//! connection at its next `COMMIT`, either before the server sees it or after the server has
//! committed and before the reply reaches the client: the two halves of an ambiguous commit.
//!
//! It reads the protocol's message framing in both directions (a type byte and a length) and
//! looks only at simple `Query` messages whose text is `COMMIT`, which is how sqlx ends a
//! transaction. Connect through it with `sslmode=disable`: it does not speak TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the proxy cuts the connection that sends the next `COMMIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The `COMMIT` is dropped and both sides are closed: the server rolls back.
    BeforeCommit,
    /// The `COMMIT` reaches the server; its reply is read and dropped, then both sides are
    /// closed: the transaction is durable but the client never hears so.
    AfterCommit,
}

impl Cut {
    fn code(self) -> u8 {
        match self {
            Self::BeforeCommit => 1,
            Self::AfterCommit => 2,
        }
    }
}

/// What the proxy counts.
#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    commits: AtomicU64,
    cuts_before: AtomicU64,
    cuts_after: AtomicU64,
}

/// A proxy on a loopback port in front of one PostgreSQL server; dropped, it stops accepting
/// and cuts every connection it carries.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    /// The cut armed for the next `COMMIT` (0: none).
    armed: Arc<AtomicU8>,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    /// Starts a proxy on `127.0.0.1` (a free port) that forwards to `upstream`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let armed = Arc::new(AtomicU8::new(0));
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let accept =
            tokio::spawn(accept_loop(listener, upstream, armed.clone(), counters.clone(), stopped));
        Ok(Self { addr, armed, counters, stop, accept })
    }

    /// Starts a proxy in front of the server of `url`; returns it with `url` pointed at it.
    ///
    /// # Errors
    /// When `url` does not name one TCP host, the host does not resolve, or no port can be
    /// bound.
    pub async fn in_front_of(url: &str) -> std::io::Result<(Self, String)> {
        // Any loopback address first, to learn the URL's host and port.
        let placeholder = SocketAddr::from(([127, 0, 0, 1], 0));
        let (upstream, _) = super::url::through(url, placeholder).map_err(std::io::Error::other)?;
        let upstream = tokio::net::lookup_host(upstream.as_str())
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{upstream} does not resolve")))?;
        let proxy = Self::start(upstream).await?;
        let (_, proxied) = super::url::through(url, proxy.addr).map_err(std::io::Error::other)?;
        Ok((proxy, proxied))
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Arms `cut` for the next `COMMIT` any connection sends; it fires once.
    pub fn arm(&self, cut: Cut) {
        self.armed.store(cut.code(), Ordering::SeqCst);
    }

    /// Disarms a cut that has not fired; returns whether one was armed.
    pub fn disarm(&self) -> bool {
        self.armed.swap(0, Ordering::SeqCst) != 0
    }

    /// Cuts made so far: (before the commit, after it).
    pub fn cuts(&self) -> (u64, u64) {
        (
            self.counters.cuts_before.load(Ordering::SeqCst),
            self.counters.cuts_after.load(Ordering::SeqCst),
        )
    }

    /// `COMMIT` messages seen so far, cut or not.
    pub fn commits(&self) -> u64 {
        self.counters.commits.load(Ordering::SeqCst)
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    armed: Arc<AtomicU8>,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((client, _)) = accepted else { continue };
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let (armed, counters, stopped) = (armed.clone(), counters.clone(), stopped.clone());
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(upstream).await {
                carry(client, server, armed, counters, stopped).await;
            }
        });
    }
}

/// Carries one connection until either side closes, a cut fires, or the proxy stops.
async fn carry(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicU8>,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Set by the client side once the COMMIT of an after-commit cut went to the server: the
    // server side then drops replies until the server is ready again, and ends.
    let (swallow, swallowing) = watch::channel(false);
    let upstream = client_to_server(client_read, server_write, armed, counters, swallow);
    let downstream = server_to_client(server_read, client_write, swallowing);
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = stopped.changed() => {}
    }
}

/// Reads one protocol message (type byte, length, body) into `buf`; `typed` is false only for
/// the startup packet, which has no type byte.
async fn read_message(
    from: &mut OwnedReadHalf,
    buf: &mut Vec<u8>,
    typed: bool,
) -> std::io::Result<()> {
    buf.clear();
    let head = if typed { 5 } else { 4 };
    buf.resize(head, 0);
    from.read_exact(buf).await?;
    let len_bytes: [u8; 4] = buf
        .get(head - 4..head)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| std::io::Error::other("short header"))?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes))
        .map_err(|_| std::io::Error::other("length does not fit"))?;
    if len < 4 {
        return Err(std::io::Error::other("bad message length"));
    }
    buf.resize(head + len - 4, 0);
    from.read_exact(buf.get_mut(head..).unwrap_or_default()).await?;
    Ok(())
}

/// True for a simple `Query` message whose text is `COMMIT`.
fn is_commit(message: &[u8]) -> bool {
    if message.first() != Some(&b'Q') {
        return false;
    }
    let text = message.get(5..).unwrap_or_default();
    let text = text.strip_suffix(&[0]).unwrap_or(text);
    std::str::from_utf8(text)
        .is_ok_and(|t| t.trim().trim_end_matches(';').eq_ignore_ascii_case("COMMIT"))
}

async fn client_to_server(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    armed: Arc<AtomicU8>,
    counters: Arc<Counters>,
    swallow: watch::Sender<bool>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(8192);
    // The startup packet, or an SSL / GSS request: 8 bytes whose answer is one byte; the
    // client then sends its startup packet (sslmode=disable never asks).
    read_message(&mut from, &mut buf, false).await?;
    to.write_all(&buf).await?;
    loop {
        read_message(&mut from, &mut buf, true).await?;
        if is_commit(&buf) {
            counters.commits.fetch_add(1, Ordering::SeqCst);
            let cut = armed.swap(0, Ordering::SeqCst);
            if cut == Cut::BeforeCommit.code() {
                counters.cuts_before.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            if cut == Cut::AfterCommit.code() {
                counters.cuts_after.fetch_add(1, Ordering::SeqCst);
                let _ = swallow.send(true);
                to.write_all(&buf).await?;
                // Keep the server side open until the reply has been swallowed.
                std::future::pending::<()>().await;
            }
        }
        to.write_all(&buf).await?;
    }
}

async fn server_to_client(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    swallowing: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(8192);
    loop {
        read_message(&mut from, &mut buf, true).await?;
        if *swallowing.borrow() {
            // Drop the reply to the COMMIT; once the server is ready for the next query
            // ('Z'), the commit is done and the connection is cut.
            if buf.first() == Some(&b'Z') {
                return Ok(());
            }
            continue;
        }
        to.write_all(&buf).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::is_commit;

    fn query(text: &str) -> Vec<u8> {
        let mut m = vec![b'Q'];
        let len = u32::try_from(text.len() + 5).unwrap_or(u32::MAX);
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(text.as_bytes());
        m.push(0);
        m
    }

    #[test]
    fn only_a_commit_query_is_a_commit() {
        assert!(is_commit(&query("COMMIT")));
        assert!(is_commit(&query(" commit; ")));
        assert!(!is_commit(&query("COMMIT PREPARED 'x'")));
        assert!(!is_commit(&query("SELECT 1")));
        let mut parse = query("COMMIT");
        parse[0] = b'P';
        assert!(!is_commit(&parse));
    }
}
