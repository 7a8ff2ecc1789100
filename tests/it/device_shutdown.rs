//! Two-stage termination with a real child process (this test binary re-run in "child" mode):
//! the first SIGTERM lets the child finish its graceful work and exit 0; a second SIGTERM
//! during that work ends it at once, killed by SIGTERM.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use motcua::device::shutdown::ShutdownSignal;

const CHILD_ENV: &str = "MOTCUA_TEST_SHUTDOWN_CHILD";
const GRACEFUL_WORK: Duration = Duration::from_millis(1500);

/// The child's body; a no-op unless run as the child.
#[test]
fn shutdown_child_body() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let signal = ShutdownSignal::install().unwrap();
    println!("CHILD ready");
    signal.wait();
    println!("CHILD graceful start");
    std::thread::sleep(GRACEFUL_WORK); // e.g. finishing a snapshot write
    println!("CHILD graceful done");
    std::process::exit(0);
}

struct Child {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn spawn_child() -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "device_shutdown::shutdown_child_body",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    Child { child, lines }
}

impl Child {
    fn expect(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(line) => return,
                Ok(_) => {}
                Err(e) => panic!("child never printed {line:?}: {e}"),
            }
        }
    }
    fn term(&self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
    }
}

#[test]
fn first_sigterm_is_graceful() {
    let mut c = spawn_child();
    c.expect("CHILD ready");
    let t = Instant::now();
    c.term();
    c.expect("CHILD graceful done");
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(t.elapsed() >= GRACEFUL_WORK);
}

#[test]
fn second_sigterm_is_immediate() {
    let mut c = spawn_child();
    c.expect("CHILD ready");
    c.term();
    c.expect("CHILD graceful start");
    let t = Instant::now();
    c.term();
    let status = c.child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "took {:?}",
        t.elapsed()
    );
    assert!(c.lines.try_iter().all(|l| !l.contains("graceful done")));
}
