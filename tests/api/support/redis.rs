//! A throwaway redis-server of the test's own, to stop while the app runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TempRedis {
    pub port: u16,
    child: Option<Child>,
    /// Where `save_and_stop` writes the data a restart loads.
    dir: tempfile::TempDir,
}

impl TempRedis {
    pub fn start() -> Self {
        let mut r = Self {
            port: super::closed_port(),
            child: None,
            dir: tempfile::Builder::new()
                .prefix("ue-redis-")
                .tempdir()
                .expect("tempdir"),
        };
        r.start_again();
        r
    }

    /// (Re)start the server on the same port.
    pub fn start_again(&mut self) {
        let port = self.port;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop like a Redis with persistence would: save, then exit. `start_again` loads the data.
    pub fn save_and_stop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n");
            let _ = s.read(&mut [0u8; 64]);
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Freeze the server (SIGSTOP): it accepts connections and never answers, like a hung one.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(child) = &self.child {
            let ok = Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "kill {sig} failed");
        }
    }

    pub fn stop(&mut self) {
        self.resume();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
