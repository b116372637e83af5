//! `cargo xtask bench` and `cargo xtask crash`: run the benchmark and crash-test drivers.
//!
//! The driver is the `persister-bench` binary of `persister-testkit`, built in release mode.
//! Every argument after `bench` is forwarded verbatim, so `cargo xtask bench --quick` works.

use xshell::{Shell, cmd};

use crate::{Result, flags};

impl flags::Bench {
    /// Builds and runs `persister-bench` with the forwarded arguments.
    ///
    /// Fails if the build fails or the driver exits with a non-zero status.
    pub(crate) fn run(self, sh: &Shell) -> Result<()> {
        let args = self.args;
        cmd!(sh, "cargo run --release -p persister-testkit --bin persister-bench -- {args...}")
            .run()?;
        Ok(())
    }
}

impl flags::Crash {
    /// Builds and runs `persister-crash` (release) with the forwarded arguments.
    ///
    /// Fails if the build fails or the driver reports a violation.
    pub(crate) fn run(self, sh: &Shell) -> Result<()> {
        let args = self.args;
        cmd!(sh, "cargo run --release -p persister-testkit --bin persister-crash -- {args...}")
            .run()?;
        Ok(())
    }
}
