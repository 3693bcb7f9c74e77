//! What `linkway bench` measured, and how it prints.

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub count: u64,
    pub seconds: f64,
}

impl Figure {
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.seconds.max(1e-9)
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub events: u64,
    /// The journey mix appended.
    pub mix: super::Mix,
    /// Referrals the events belong to.
    pub referrals: u64,
    pub raw_publish: Figure,
    /// Raw publish with the server's checks of an append (message id, expected sequence).
    pub raw_checked: Figure,
    pub raw_replay: Figure,
    pub pg_bulk_insert: Figure,
    pub append: Figure,
    pub replay: Vec<Figure>,
    /// All three read models rebuilt at once, from sequence 1 (the time to rebuild them all).
    pub replay_together: Option<Figure>,
    pub peak_rss_mib: f64,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |f: &Figure| {
            format!(
                "{:<44} {:>10} in {:>7.3} s = {:>10.0} /s\n",
                f.name,
                f.count,
                f.seconds,
                f.rate()
            )
        };
        out.push_str(&format!(
            "{} events of {} referrals ({} mix)\n",
            self.events,
            self.referrals,
            self.mix.name()
        ));
        out.push_str("raw limits (same machine, same run)\n");
        out.push_str(&line(&self.raw_publish));
        out.push_str(&line(&self.raw_checked));
        out.push_str(&line(&self.raw_replay));
        out.push_str(&line(&self.pg_bulk_insert));
        out.push_str("linkway\n");
        out.push_str(&line(&self.append));
        for r in self.replay.iter().chain(&self.replay_together) {
            out.push_str(&line(r));
        }
        if let Some(t) = &self.replay_together {
            out.push_str(&format!(
                "{:<44} {:>10.1} min\n",
                "all three read models rebuilt in",
                t.seconds / 60.0
            ));
        }
        out.push_str("ratios\n");
        out.push_str(&format!(
            "{:<44} {:>10.2}x  (target >= 0.70x)\n",
            "append (optimistic) / raw pipelined publish",
            self.append.rate() / self.raw_publish.rate()
        ));
        out.push_str(&format!(
            "{:<44} {:>10.2}x\n",
            "append / raw publish with the same checks",
            self.append.rate() / self.raw_checked.rate()
        ));
        for r in &self.replay {
            out.push_str(&format!(
                "{:<44} {:>10.2}x  ({:.0} events/s; target >= 100000)\n",
                format!("{} / raw ordered replay", r.name),
                r.rate() / self.raw_replay.rate(),
                r.rate()
            ));
            out.push_str(&format!(
                "{:<44} {:>10.2}x\n",
                format!("{} / postgres bulk insert", r.name),
                r.rate() / self.pg_bulk_insert.rate()
            ));
        }
        out.push_str(&format!(
            "peak resident memory: {:.0} MiB\n",
            self.peak_rss_mib
        ));
        out
    }
}
