//! Hub test fixtures: a real PostgreSQL from the system's packages (initdb and pg_ctl in a
//! temporary directory; as `nobody` through `runuser` when the tests run as root, since
//! PostgreSQL refuses to run as root), and a hub on either store serving on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use motcua::hub::{keys, Database, HubState};

/// Where `initdb` and `pg_ctl` are: on PATH, else Debian's /usr/lib/postgresql/<v>/bin.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    }) {
        return dir;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|d| d.join("initdb").is_file())
        .expect("PostgreSQL is not installed (scripts/setup.sh --tests installs it)")
}

/// A PostgreSQL server of its own, stopped and removed on drop.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_nobody: bool,
}

impl Postgres {
    pub fn start() -> Postgres {
        Self::start_with(&["-c", "fsync=off"])
    }

    /// Start with extra server settings (`-c name=value` pairs).
    pub fn start_with(settings: &[&str]) -> Postgres {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("motcua-pg")
            .tempdir()
            .unwrap();
        let as_nobody = unsafe { libc::geteuid() } == 0;
        if as_nobody {
            std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Postgres {
            dir,
            bin,
            port,
            as_nobody,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let mut opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            pg.dir.path().display()
        );
        for s in settings {
            opts.push(' ');
            opts.push_str(s);
        }
        let log = pg.dir.path().join("log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A URL for database `db` (made by [`Postgres::create_db`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A fresh empty database; returns its URL.
    pub async fn create_db(&self, name: &str) -> String {
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
        let driver = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = driver.await;
        self.url(name)
    }

    /// Run SQL directly (checks that go around the hub).
    pub async fn sql(&self, url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(conn);
        let r = client.batch_execute(sql).await;
        drop(client);
        let _ = driver.await;
        r
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

/// Which store a test runs on.
pub enum Backend {
    Sqlite,
    Postgres(Postgres),
}

/// A hub serving on loopback with a signing key and one registered device.
pub struct Hub {
    pub dir: tempfile::TempDir,
    pub db: Database,
    pub state: HubState,
    pub key: SigningKey,
    pub token: String,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Keeps the database server alive as long as the hub.
    _backend: Backend,
}

impl Hub {
    pub async fn start(backend: Backend) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        keys::keygen(dir.path()).unwrap();
        let key = keys::load_signing_key(dir.path()).unwrap();
        let db = match &backend {
            Backend::Sqlite => Database::Sqlite(dir.path().to_owned()),
            Backend::Postgres(pg) => Database::Postgres(pg.create_db("hub").await),
        };
        let state = HubState::connect(&db, Some(key.clone())).await.unwrap();
        let token = state
            .store()
            .add_device("kiosk-1", "Phường Hàm Rồng", chrono::Utc::now())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(motcua::hub::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Hub {
            dir,
            db,
            state,
            key,
            token,
            addr,
            stop: Some(tx),
            _backend: backend,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The `--database` argument for CLI commands on this hub (none for SQLite).
    pub fn database_args(&self) -> Vec<String> {
        match &self.db {
            Database::Sqlite(_) => vec![],
            Database::Postgres(url) => vec!["--database".into(), url.clone()],
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
