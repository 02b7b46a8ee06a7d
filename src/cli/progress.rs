//! Progress of long commands: a bar on a terminal, a line every few seconds when the output
//! goes to a file or a pipe (or with `--progress plain`), nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between two plain progress lines.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// How progress is shown.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressArg {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// A bar.
    Bar,
    /// A line every few seconds.
    Plain,
    /// None.
    Off,
}

/// The progress options.
#[derive(Args, Debug, Clone)]
pub struct ProgressOptions {
    /// How progress is shown on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
    /// Print only warnings and errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl Default for ProgressOptions {
    fn default() -> Self {
        Self {
            progress: ProgressArg::Auto,
            quiet: false,
        }
    }
}

impl ProgressOptions {
    /// A reporter for `total` units of `what` (for instance segments scored).
    pub fn reporter(&self, what: &str) -> Progress {
        let mode = match (self.quiet, self.progress) {
            (true, _) | (_, ProgressArg::Off) => Mode::Off,
            (_, ProgressArg::Bar) => Mode::Bar(bar(what)),
            (_, ProgressArg::Plain) => Mode::Plain(None),
            (_, ProgressArg::Auto) if std::io::stderr().is_terminal() => Mode::Bar(bar(what)),
            (_, ProgressArg::Auto) => Mode::Plain(None),
        };
        Progress {
            mode,
            what: what.to_owned(),
            started: Instant::now(),
            message: String::new(),
        }
    }
}

fn bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let template =
        format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}, {{eta}} left  {{msg}}");
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

enum Mode {
    Off,
    Bar(ProgressBar),
    /// When the last line was printed.
    Plain(Option<Instant>),
}

/// Reports how far a long step has come.
pub struct Progress {
    mode: Mode,
    what: String,
    started: Instant,
    message: String,
}

impl Progress {
    /// Shows `message` (losses, say) beside the count from the next update on.
    pub fn set_message(&mut self, message: String) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_message(message.clone());
        }
        self.message = message;
    }

    /// `done` of `total` units are finished.
    pub fn update(&mut self, done: usize, total: usize) {
        match &mut self.mode {
            Mode::Off => {}
            Mode::Bar(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Mode::Plain(last) => {
                let due = last.is_none_or(|t| t.elapsed() >= PLAIN_INTERVAL);
                if due || done == total {
                    *last = Some(Instant::now());
                    eprintln!(
                        "{}: {done} of {total} ({:.0} %) after {:.0} s  {}",
                        self.what,
                        100.0 * done as f64 / total.max(1) as f64,
                        self.started.elapsed().as_secs_f64(),
                        self.message
                    );
                }
            }
        }
    }

    /// The step is over: the bar is cleared.
    pub fn finish(self) {
        if let Mode::Bar(bar) = self.mode {
            bar.finish_and_clear();
        }
    }
}
