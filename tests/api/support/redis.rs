//! A throwaway redis-server of the test's own, to stop while the app runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TempRedis {
    pub port: u16,
    child: Option<Child>,
    /// With TLS only (`start_tls`): the server's certificate, key and CA files.
    tls: Option<[std::path::PathBuf; 3]>,
    /// Where `save_and_stop` writes the data a restart loads.
    dir: tempfile::TempDir,
}

impl TempRedis {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A server that speaks only TLS (`--port 0 --tls-port`), with `certs`' server
    /// certificate; clients need no certificate of their own.
    pub fn start_tls(certs: &super::certs::TestCerts) -> Self {
        Self::start_with(Some([
            certs.cert.clone(),
            certs.key.clone(),
            certs.ca.clone(),
        ]))
    }

    fn start_with(tls: Option<[std::path::PathBuf; 3]>) -> Self {
        let mut r = Self {
            port: super::closed_port(),
            child: None,
            tls,
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
        let mut cmd = Command::new("redis-server");
        match &self.tls {
            None => cmd.args(["--port", &port.to_string()]),
            Some([cert, key, ca]) => cmd
                .args(["--port", "0", "--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = cmd
            .args(["--bind", "127.0.0.1"])
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

    /// `redis://`, or `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        match self.tls {
            None => format!("redis://127.0.0.1:{}", self.port),
            Some(_) => format!("rediss://127.0.0.1:{}", self.port),
        }
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
