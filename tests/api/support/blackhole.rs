//! A TCP proxy in front of a real server that can go silent: `blackhole()` makes every
//! connection open at that moment stop relaying while its sockets stay open (a half-open
//! connection after a NAT or load balancer dropped its state); connections made afterwards
//! relay normally again. No protocol is emulated: bytes pass through to the real server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Blackhole {
    pub port: u16,
    /// Connections accepted before this generation are silenced.
    generation: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    /// Listen on a free local port, relaying to `127.0.0.1:target`.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let generation = Arc::new(AtomicU64::new(0));
        let gen = Arc::clone(&generation);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let born = gen.load(Ordering::SeqCst);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(relay(cr, sw, Arc::clone(&gen), born));
                tokio::spawn(relay(sr, cw, Arc::clone(&gen), born));
            }
        });
        Self {
            port,
            generation,
            task,
        }
    }

    /// Every connection open now stops relaying (for good); its sockets stay open.
    pub fn blackhole(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copy bytes one way until the connection closes or its generation is silenced; then hold
/// the halves open (reading nothing, writing nothing) until the peer gives up.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    gen: Arc<AtomicU64>,
    born: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gen.load(Ordering::SeqCst) != born {
            // Silenced: swallow this and everything after it, keep the sockets open.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
