//! The `consento` binary: parses the command line, runs the command on a tokio runtime, and turns
//! a failure into one `error: …` line on stderr with exit code 1 (clap's usage errors exit 2).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;

use consento_server::{cli, commands};

/// See the workspace manifest for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Every file Consento creates holds personal data (the database and its -wal and -shm,
    // backups, exports, uploads) and is readable by its owner only (GDPR Art. 32(1)): each is
    // created with mode 0600, and this mask is the second guard for any that is not.
    let _ = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = cli::Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let result = runtime.block_on(commands::run(cli, &mut out));
            // Flush even after a failure: what was printed before it belongs before the error.
            let flushed = out.flush();
            result.and(flushed.map_err(anyhow::Error::from))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of a pipe went away (`consento audience | head`): nothing to report.
        Err(e) if commands::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // If even stderr is gone there is nowhere left to report to; the exit code remains.
            let _ = writeln!(std::io::stderr(), "error: {}", commands::describe(&e));
            ExitCode::FAILURE
        }
    }
}
