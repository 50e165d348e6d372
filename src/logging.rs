//! The process logger: env_logger (`RUST_LOG`, default `info`, millisecond UTC timestamps),
//! with one change: actix-http's reports about a single client connection (malformed
//! requests, broken streams, clients gone mid-answer) arrive as ERROR, which would let any
//! client flood the error log and page whoever alerts on it. They are logged as WARN under
//! their own target, so `RUST_LOG=actix_http=error` still silences them and ERROR stays for
//! the service's own failures.

use log::{Level, Log, Metadata, Record};

/// Targets whose ERROR records are about one connection, not about the service.
const CONNECTION_TARGETS: &str = "actix_http::h1";

/// The level a record is logged at.
pub fn level_for(target: &str, level: Level) -> Level {
    if level == Level::Error && target.starts_with(CONNECTION_TARGETS) {
        Level::Warn
    } else {
        level
    }
}

struct Relevel(env_logger::Logger);

impl Log for Relevel {
    fn enabled(&self, metadata: &Metadata) -> bool {
        let level = level_for(metadata.target(), metadata.level());
        self.0.enabled(
            &Metadata::builder()
                .level(level)
                .target(metadata.target())
                .build(),
        )
    }

    fn log(&self, record: &Record) {
        let level = level_for(record.target(), record.level());
        if level == record.level() {
            return self.0.log(record);
        }
        self.0.log(
            &Record::builder()
                .args(*record.args())
                .level(level)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Installs the logger once per process (later calls do nothing).
pub fn init() {
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            .format_timestamp_millis()
            .build();
    let max = logger.filter();
    if log::set_boxed_logger(Box::new(Relevel(logger))).is_ok() {
        log::set_max_level(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_of_actix_http_are_warnings_and_nothing_else_moves() {
        assert_eq!(
            level_for("actix_http::h1::dispatcher", Level::Error),
            Level::Warn
        );
        assert_eq!(
            level_for("actix_http::h1::dispatcher", Level::Trace),
            Level::Trace
        );
        assert_eq!(level_for("unioneyes::http", Level::Error), Level::Error);
        assert_eq!(level_for("actix_server", Level::Error), Level::Error);
    }
}
