//! Logging with `tracing`: human-readable or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The sequencer's own counters (`store::sequencer`): how many batches it
/// sequenced and how large they were. Process-wide, since one sequencer
/// runs per process; `/metrics` registers them beside the HTTP metrics.
pub struct SequencerMetrics {
    batches: prometheus_client::metrics::counter::Counter,
    revisions: prometheus_client::metrics::counter::Counter,
    batch_revisions: prometheus_client::metrics::histogram::Histogram,
}

static SEQUENCER: std::sync::LazyLock<SequencerMetrics> = std::sync::LazyLock::new(|| SequencerMetrics {
    batches: Default::default(),
    revisions: Default::default(),
    // 1 … 8,192 revisions
    batch_revisions: prometheus_client::metrics::histogram::Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        1.0, 2.0, 14,
    )),
});

/// One batch of `revisions` revisions was sequenced (and committed).
pub fn sequenced(revisions: usize) {
    let m = &*SEQUENCER;
    m.batches.inc();
    m.revisions.inc_by(revisions as u64);
    m.batch_revisions.observe(revisions as f64);
}

/// Adds the sequencer's metrics to a registry (the one `/metrics` renders).
pub fn register_sequencer(registry: &mut prometheus_client::registry::Registry) {
    let m = &*SEQUENCER;
    registry.register(
        "sequencer_batches",
        "Batches the sequencer of this process committed",
        m.batches.clone(),
    );
    registry.register(
        "sequencer_revisions",
        "Revisions the sequencer of this process sequenced",
        m.revisions.clone(),
    );
    registry.register(
        "sequencer_batch_revisions",
        "Revisions per batch the sequencer of this process committed",
        m.batch_revisions.clone(),
    );
}
