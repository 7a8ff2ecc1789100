//! Shared helpers: running the real `motcua` binary on a scratch data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SMALL_CATALOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/small-catalog.json"
);

pub fn small_catalog() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(SMALL_CATALOG).unwrap()).unwrap()
}

/// A scratch data directory, removed on drop.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Write `contents` to a file in the scratch dir and return its path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Run `motcua --data-dir <scratch>/data ARGS…` with no config file.
    pub fn motcua(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(self.file("empty.toml", ""))
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("MOTCUA_DATA_DIR")
            .output()
            .expect("motcua runs")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
