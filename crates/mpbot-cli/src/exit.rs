//! The documented exit codes.

/// How a command ended: each variant is one documented process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exit {
    /// 0: the command did what was asked (a dry run that would succeed counts).
    Success,
    /// 1: something else failed: output could not be written, the runtime could not start,
    /// the bot stopped with an error, the emulator could not start.
    Failure,
    /// 2: the command line is wrong (clap's own exit code for usage errors).
    Usage,
    /// 3: the config file cannot be read or is invalid (the message names file, line and key).
    Config,
    /// 4: a guard refused: `--confirm` is not getMe's username (or not `expect_username`), the
    /// probe of `public_url` failed, the config's mode does not fit the command, or
    /// `journal replay` found the journal locked by a running bot (or an id not in it).
    Refused,
    /// 5: MPChat (or the network on the way to it) answered an error.
    Remote,
    /// 6: a smoke-test step failed.
    SmokeFailed,
    /// 7: `check` found that the configured mode cannot start.
    NotReady,
    /// 8: `journal`: there is no journal where the config (or `--dir`) points, or it is
    /// damaged, not a journal, or cannot be opened (the message names the file and the fix).
    Journal,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::Refused => 4,
            Self::Remote => 5,
            Self::SmokeFailed => 6,
            Self::NotReady => 7,
            Self::Journal => 8,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit.code())
    }
}
