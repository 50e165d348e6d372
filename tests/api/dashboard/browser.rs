//! Running tests/browser/dashboard.mjs: the toolchain it needs (Chromium, Node.js,
//! playwright-core), where screenshots go, and one run of a scenario with a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root().join(target)
    };
    target.join("screenshots").join(name)
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Chromium, Node.js and playwright-core, or a failure that says how to get them: the browser
/// test never skips silently.
pub(super) fn require_browser_toolchain() {
    let mut missing = Vec::new();
    if !chromium().is_file() {
        missing.push(format!("Chromium ({})", chromium().display()));
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        missing.push("Node.js (`node` on PATH)".to_string());
    }
    let playwright = root().join("tests/browser/node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        missing.push("tests/browser/node_modules (playwright-core)".to_string());
    }
    assert!(
        missing.is_empty(),
        "the dashboard browser test needs {}: run scripts/test.sh, which installs them \
         (apt-get install chromium chromium-driver; npm ci --prefix tests/browser)",
        missing.join(", ")
    );
}

/// Run the browser script on `scenario`; panics with its output unless it passed.
pub(super) async fn run_browser(scenario: Value) -> String {
    require_browser_toolchain();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.json");
    std::fs::write(&file, scenario.to_string()).unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let (out, err) = (out_path.clone(), err_path.clone());
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(root().join("tests/browser/dashboard.mjs"))
            .arg(&file)
            .current_dir(root())
            .env("CHROMIUM_PATH", chromium())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start node");
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let elapsed = started.elapsed();
    match status {
        Some(s) if s.success() => {
            println!("{output}browser run: {elapsed:?}");
            output
        }
        Some(s) => panic!("the browser run failed ({s}) after {elapsed:?}:\n{output}"),
        None => panic!("the browser run did not finish within 150 s:\n{output}"),
    }
}
