//! Logging with `tracing`: human-readable or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the subscriber; keep the guard until exit (dropping it writes
/// out what is still buffered).
pub fn init(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    // Colour codes only for a terminal, not into a log file or collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Lines reach stderr from a thread of their own, through a buffer
    // written out whenever no line is waiting: a request formats its line
    // and moves on, and under load many lines share one write (a write per
    // request line cost a third of a cached read's throughput). Never
    // lossy: a full queue makes the logger wait rather than drop a line.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    guard
}
