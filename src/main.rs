//! The `unioneyes` binary: a thin entry over `unioneyes::cli`.

fn main() -> std::process::ExitCode {
    unioneyes::cli::run()
}
