//! Sync test fixtures: a real hub on 127.0.0.1:0, a fault-injecting HTTP front that either
//! forwards to the hub or misbehaves on purpose, and a `SyncContext` with short timings.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use motcua::hub::{keys, HubState};
use motcua::sync::clock::{Clock, OffsetClock};
use motcua::sync::schedule::Schedule;
use motcua::sync::{ClientSettings, HubClient, PinnedKey, SyncContext, SyncSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bundle limit used by the tests: 1 MiB, far above the small test catalog they publish.
pub const TEST_MAX_BUNDLE: usize = 1024 * 1024;

/// What the test hub publishes: the five-procedure test catalog, so that these fault tests
/// measure sync and not the parsing of the 6 MB embedded default.
pub fn test_catalog_json() -> Vec<u8> {
    crate::support::small_catalog().to_string().into_bytes()
}

pub struct TestHub {
    /// Holds hub.db and the signing key; removed on drop.
    _dir: tempfile::TempDir,
    pub state: HubState,
    pub key: SigningKey,
    pub token: String,
    pub addr: SocketAddr,
    server: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

impl TestHub {
    /// A hub with a signing key, one device and the demo catalog published (version ≥ 1).
    pub async fn start() -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        keys::keygen(dir.path()).unwrap();
        let key = keys::load_signing_key(dir.path()).unwrap();
        let state = HubState::open(dir.path()).unwrap();
        let token = state
            .db()
            .add_device("kiosk-1", chrono::Utc::now())
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut hub = TestHub {
            _dir: dir,
            state,
            key,
            token,
            addr,
            server: None,
        };
        hub.publish_catalog(30);
        hub.serve_on(listener);
        hub
    }

    /// Serve on a runtime of its own, so that killing it drops every open connection too.
    fn serve_on(&mut self, listener: std::net::TcpListener) {
        let state = self.state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    r = motcua::hub::serve(listener, state, std::future::pending()) => r.unwrap(),
                    _ = rx => {}
                }
            });
        });
        self.server = Some((tx, thread));
    }

    /// Publish the test catalog again (a new version), expiring in `days`.
    pub fn publish_catalog(&self, days: i64) -> u64 {
        let version = self
            .state
            .db()
            .publish(
                &test_catalog_json(),
                &self.key,
                TEST_MAX_BUNDLE,
                Some(chrono::Duration::days(days)),
                chrono::Utc::now(),
            )
            .unwrap()
            .version;
        self.state.refresh();
        version
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The hub's directory (hub.db, signing key, update bundles).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Crash the server (connections dropped, nothing listening); hub.db stays.
    pub fn kill(&mut self) {
        if let Some((tx, thread)) = self.server.take() {
            let _ = tx.send(());
            let _ = thread.join();
        }
    }

    /// Start serving again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        self.serve_on(listener);
    }

    pub fn pinned(&self) -> PinnedKey {
        keys::public_of(&self.key)
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the fault front does with the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward to the hub.
    Proxy,
    /// Accept and hang up at once.
    HangUp,
    /// Forward the request to the hub, throw its answer away and say nothing for 30 s: the
    /// hub did the work, the client never learns it (a lost answer).
    LoseAnswer,
    /// `LoseAnswer` for the next request only, then `Proxy`.
    LoseAnswerOnce,
    Status500,
    /// Headers, then one byte every 100 ms.
    SlowDrip,
    /// Announce the envelope's length, send half of it, close.
    Truncated(Vec<u8>),
    /// Stream `x` bytes without a length until the client stops reading (at most this many).
    Endless(u64),
    /// 200 with this content type and body.
    Body(&'static str, Vec<u8>),
    /// 200 JSON with `Content-Encoding: <coding>` and this body.
    Coded(&'static str, Vec<u8>),
    /// 200 JSON with `Content-Encoding: <coding>`, announcing this body's length and sending
    /// only its first half.
    CodedTruncated(&'static str, Vec<u8>),
    /// Forward to the hub, but hang up after this many bytes of its answer (a cut link).
    ProxyCut(u64),
}

pub struct FaultFront {
    pub addr: SocketAddr,
    pub mode: Arc<Mutex<Fault>>,
    /// The request heads seen, in order.
    pub heads: Arc<Mutex<Vec<String>>>,
    /// Body bytes the front managed to write in `Endless` mode.
    pub written: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for FaultFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultFront {
    pub async fn start(upstream: SocketAddr) -> FaultFront {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Fault::Proxy));
        let written = Arc::new(AtomicU64::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (m, w, h) = (Arc::clone(&mode), Arc::clone(&written), Arc::clone(&heads));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let fault = {
                    let mut mode = m.lock().unwrap();
                    let f = mode.clone();
                    if matches!(f, Fault::LoseAnswerOnce) {
                        *mode = Fault::Proxy;
                    }
                    f
                };
                let (w, h) = (Arc::clone(&w), Arc::clone(&h));
                tokio::spawn(async move {
                    let _ = handle(stream, fault, upstream, w, h).await;
                });
            }
        });
        FaultFront {
            addr,
            mode,
            heads,
            written,
            task,
        }
    }

    pub fn set(&self, f: Fault) {
        *self.mode.lock().unwrap() = f;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

async fn handle(
    mut client: TcpStream,
    fault: Fault,
    upstream: SocketAddr,
    written: Arc<AtomicU64>,
    heads: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    if matches!(fault, Fault::HangUp) {
        return Ok(());
    }
    let head = read_head(&mut client).await?;
    heads
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let ok_head = |ct: &str, len: Option<usize>| {
        let len = len
            .map(|l| format!("Content-Length: {l}\r\n"))
            .unwrap_or_default();
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\n{len}Connection: close\r\n\r\n")
    };
    match fault {
        Fault::HangUp => Ok(()),
        Fault::LoseAnswer | Fault::LoseAnswerOnce => {
            let text = String::from_utf8_lossy(&head).to_string();
            let len: usize = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            client.read_exact(&mut body).await?;
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(text.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n").as_bytes())
                .await?;
            up.write_all(&body).await?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).await?;
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        }
        Fault::Proxy => {
            // One request per connection, so a mode change applies to the next request.
            let text = String::from_utf8_lossy(&head).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(text.as_bytes()).await?;
            tokio::io::copy_bidirectional(&mut client, &mut up).await?;
            Ok(())
        }
        Fault::ProxyCut(limit) => {
            let text = String::from_utf8_lossy(&head).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(text.as_bytes()).await?;
            let mut sent = 0u64;
            let mut buf = vec![0u8; 4096];
            while sent < limit {
                let n = up.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                let n = n.min((limit - sent) as usize);
                client.write_all(&buf[..n]).await?;
                sent += n as u64;
            }
            client.flush().await
        }
        Fault::Status500 => {
            client
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await
        }
        Fault::SlowDrip => {
            client
                .write_all(ok_head("application/json", Some(50_000)).as_bytes())
                .await?;
            for _ in 0..600 {
                client.write_all(b" ").await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(())
        }
        Fault::Truncated(body) => {
            client
                .write_all(ok_head("application/json", Some(body.len())).as_bytes())
                .await?;
            client.write_all(&body[..body.len() / 2]).await?;
            client.flush().await
        }
        Fault::Endless(max) => {
            client
                .write_all(ok_head("application/json", None).as_bytes())
                .await?;
            let chunk = vec![b'x'; 16 * 1024];
            let mut sent = 0;
            while sent < max {
                client.write_all(&chunk).await?;
                sent += chunk.len() as u64;
                written.store(sent, Ordering::SeqCst);
            }
            Ok(())
        }
        Fault::Coded(coding, body) => {
            let head = ok_head("application/json", Some(body.len()))
                .replace("\r\n\r\n", &format!("\r\nContent-Encoding: {coding}\r\n\r\n"));
            client.write_all(head.as_bytes()).await?;
            client.write_all(&body).await
        }
        Fault::CodedTruncated(coding, body) => {
            let head = ok_head("application/json", Some(body.len()))
                .replace("\r\n\r\n", &format!("\r\nContent-Encoding: {coding}\r\n\r\n"));
            client.write_all(head.as_bytes()).await?;
            client.write_all(&body[..body.len() / 2]).await?;
            client.flush().await
        }
        Fault::Body(ct, body) => {
            client
                .write_all(ok_head(ct, Some(body.len())).as_bytes())
                .await?;
            client.write_all(&body).await
        }
    }
}

/// Short timings for tests: 200 ms interval, 50 ms backoff base, no jitter.
pub fn test_settings() -> SyncSettings {
    let schedule = Schedule {
        interval: Duration::from_millis(400),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        jitter: 0.0,
    };
    SyncSettings {
        catalog: schedule.clone(),
        queue: schedule.clone(),
        outbox: schedule,
        heartbeat_interval: Duration::from_secs(3600),
        max_bundle_bytes: TEST_MAX_BUNDLE,
        max_clock_skew: chrono::Duration::minutes(10),
        device_name: "kiosk-1".into(),
    }
}

pub fn test_client_settings() -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(1),
        queue_wait: Duration::from_secs(2),
        max_envelope_bytes: ClientSettings::envelope_limit(TEST_MAX_BUNDLE),
        ca_file: None,
    }
}

/// An appliance: a scratch data directory and a sync context pointed at `url`.
pub struct Appliance {
    pub dir: tempfile::TempDir,
    pub clock: Arc<OffsetClock>,
    pub ctx: Arc<SyncContext>,
}

impl Appliance {
    pub fn new(url: &str, token: &str, keys: Vec<PinnedKey>) -> Appliance {
        Appliance::with_settings(url, token, keys, test_settings())
    }

    /// [`Appliance::new`] with other sync settings (e.g. the device's name).
    pub fn with_settings(
        url: &str,
        token: &str,
        keys: Vec<PinnedKey>,
        settings: SyncSettings,
    ) -> Appliance {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(OffsetClock::default());
        let client = HubClient::new(url, token, test_client_settings()).unwrap();
        let ctx = SyncContext::open(
            &dir.path().join("catalog.db"),
            client,
            keys,
            Arc::clone(&clock) as Arc<dyn Clock>,
            settings,
        )
        .unwrap();
        Appliance { dir, clock, ctx }
    }

    /// (version, sha256) of the installed catalog.
    pub fn installed(&self) -> Option<(u64, String)> {
        self.ctx
            .catalog()
            .info()
            .unwrap()
            .map(|i| (i.version, i.sha256))
    }

    pub fn status(&self) -> motcua::sync::state::SyncStatus {
        motcua::sync::state::read_status(&self.ctx.db(), chrono::Utc::now()).unwrap()
    }
}
