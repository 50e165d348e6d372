//! A throwaway PostgreSQL server of the test's own (initdb in a temp dir, a free port), for
//! tests that stop, restart or misconfigure the database without touching the shared one.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TempPostgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bindir: PathBuf,
    /// With TLS: the server's certificate and key files (`start_tls`).
    tls: Option<(PathBuf, PathBuf)>,
}

fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .filter(|p| p.join("initdb").exists())
        .expect("PostgreSQL server binaries (initdb) not found")
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run a PostgreSQL binary, as the `postgres` user when we are root (it refuses root).
fn run(bin: &Path, args: &[&str]) {
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin)
            .args(args)
            .status()
    } else {
        Command::new(bin).args(args).status()
    }
    .expect("run a PostgreSQL binary");
    assert!(status.success(), "{} {:?} failed", bin.display(), args);
}

impl TempPostgres {
    /// `password`: when set, TCP connections need it (scram) for user `postgres`.
    pub fn start(password: Option<&str>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ue-pg-")
            .tempdir()
            .expect("tempdir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "chown of the temp dir to postgres failed");
        }
        let bindir = bindir();
        let data = dir.path().join("data");
        let data_s = data.to_string_lossy().to_string();
        let mut args = vec!["-D", &data_s, "-U", "postgres", "--no-sync"];
        let pwfile = dir.path().join("pw");
        let pwfile_s = pwfile.to_string_lossy().to_string();
        if let Some(pw) = password {
            std::fs::write(&pwfile, pw).expect("pwfile");
            if is_root() {
                let _ = Command::new("chown")
                    .args(["postgres:postgres", &pwfile_s])
                    .status();
            }
            args.extend([
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--pwfile",
                &pwfile_s,
            ]);
        } else {
            args.extend(["--auth=trust"]);
        }
        run(
            &bindir.join("initdb"),
            &[&args[..], &["-E", "UTF8"]].concat(),
        );
        let pg = Self {
            port: super::closed_port(),
            dir,
            bindir,
            tls: None,
        };
        pg.start_server();
        pg
    }

    /// A server that accepts TCP connections only over TLS (`hostssl` in pg_hba.conf, plain
    /// `host` rejected), with `certs`' server certificate; trust authentication.
    pub fn start_tls(certs: &super::certs::TestCerts) -> Self {
        certs.give_to("postgres");
        let mut pg = Self::start(None);
        pg.stop_server();
        let hba = "local all all trust\n\
                   hostnossl all all 0.0.0.0/0 reject\n\
                   hostssl all all 127.0.0.1/32 trust\n";
        std::fs::write(Path::new(&pg.data()).join("pg_hba.conf"), hba).expect("pg_hba.conf");
        pg.tls = Some((certs.cert.clone(), certs.key.clone()));
        pg.start_server();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().to_string()
    }

    pub fn start_server(&self) {
        let mut opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        if let Some((cert, key)) = &self.tls {
            opts += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            );
        }
        let log = self.dir.path().join("log").to_string_lossy().to_string();
        run(
            &self.bindir.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-o",
                &opts,
                "-l",
                &log,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    pub fn stop_server(&self) {
        run(
            &self.bindir.join("pg_ctl"),
            &["-D", &self.data(), "-m", "fast", "-w", "stop"],
        );
    }

    pub fn url(&self, user_password: &str, db: &str) -> String {
        format!("postgres://{user_password}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bindir.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        if !is_root() {
            let _ = Command::new(self.bindir.join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .output();
        }
    }
}
