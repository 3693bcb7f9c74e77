//! The seeded schedule of a load run: which organisations take part, and for referral `i`
//! who sends it, over which channel, for which person, and how its journey goes.
//!
//! Pure: referral `i`'s plan is a function of the seed and `i` alone (its own random
//! stream), so the same seed gives the same requests whatever the concurrency, the mode
//! or the number of referrals. The journey mix follows the load model in DOMAIN.md: about
//! 30-45% of referrals never become engaged cases (declined, or not contactable); an
//! engaged case has 6-12 contacts, a plan, 1-3 onward connections and 2-3 outcome
//! measures.

use std::time::Duration;

use linkway_events::registry::OrganisationKind;

/// A small, fast, seedable generator (SplitMix64): stable across versions and platforms,
/// which a reproducible schedule needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream of item `i` of kind `stream` under `seed`.
    pub fn for_item(seed: u64, stream: u64, i: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407));
        r.0 ^= r.next_u64() ^ i.wrapping_mul(0x9FB2_1C65_1E98_DF25);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

const ORGANISATIONS: u64 = 1;
const REFERRALS: u64 = 2;
const ARRIVALS: u64 = 3;

/// How many organisations of each part take part.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub referrers: usize,
    pub areas: usize,
    pub services_per_area: usize,
    /// Community services in the directory.
    pub directory: usize,
    /// Percentage of referrals sent as FHIR messages.
    pub fhir_percent: u8,
}

/// A referring organisation, routed to one link-worker service by a rule.
#[derive(Debug, Clone)]
pub struct Referrer {
    pub id: String,
    pub name: String,
    pub kind: OrganisationKind,
    /// ODS code, charity or company number: what a FHIR message names its sender by.
    pub code: String,
    pub area: usize,
    pub service: usize,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub area: usize,
}

/// Every organisation of one run. Ids carry the run tag, so runs never share one.
#[derive(Debug, Clone)]
pub struct Organisations {
    pub referrers: Vec<Referrer>,
    pub services: Vec<Service>,
    /// One commissioner per area: (organisation id, commissioner area code).
    pub commissioners: Vec<(String, String)>,
    /// Community service ids in the directory.
    pub directory: Vec<String>,
}

/// Referrer kinds, most of them GP practices (DOMAIN.md: "GP practices (the majority)").
const KINDS: [(OrganisationKind, &str); 10] = [
    (OrganisationKind::GpPractice, "gp"),
    (OrganisationKind::GpPractice, "gp"),
    (OrganisationKind::GpPractice, "gp"),
    (OrganisationKind::GpPractice, "gp"),
    (OrganisationKind::GpPractice, "gp"),
    (OrganisationKind::Council, "council"),
    (OrganisationKind::HousingAssociation, "ha"),
    (OrganisationKind::Pharmacy, "pharmacy"),
    (OrganisationKind::Vcse, "vcse"),
    (OrganisationKind::Other, "hospital"),
];

pub fn organisations(seed: u64, run: &str, shape: &Shape) -> Organisations {
    let areas = shape.areas.max(1);
    let per_area = shape.services_per_area.max(1);
    let services: Vec<Service> = (0..areas * per_area)
        .map(|s| Service {
            id: format!("lw-{run}-{s}"),
            area: s / per_area,
        })
        .collect();
    let referrers = (0..shape.referrers.max(1))
        .map(|i| {
            let mut rng = Rng::for_item(seed, ORGANISATIONS, i as u64);
            let (kind, prefix) = KINDS[i % KINDS.len()];
            let area = i % areas;
            Referrer {
                id: format!("{prefix}-{run}-{i}"),
                name: format!("Load test {prefix} {i}"),
                kind,
                code: format!("{}{i:03}", run.to_ascii_uppercase()),
                area,
                service: area * per_area + rng.range(0, per_area as u64 - 1) as usize,
            }
        })
        .collect();
    Organisations {
        referrers,
        services,
        commissioners: (0..areas)
            .map(|a| (format!("icb-{run}-{a}"), format!("L{run}{a}")))
            .collect(),
        directory: (0..shape.directory.max(3))
            .map(|k| format!("svc-{run}-{k}"))
            .collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Json,
    Fhir,
}

/// What a community service does with an onward connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    AcceptedAndAttended,
    Accepted,
    Declined,
}

/// An engaged case's journey.
#[derive(Debug, Clone)]
pub struct Engaged {
    /// Failed attempts before the first contact made (fewer than the could-not-contact limit).
    pub failed_attempts: u8,
    /// Contacts made, 6-12.
    pub contacts: u8,
    /// Onward connections (directory index, answer), 1-3 distinct services.
    pub connections: Vec<(usize, Answer)>,
    /// Outcome measures, 2-3 (baseline, a review when 3, exit) of one instrument.
    pub outcomes: u8,
    pub instrument: &'static str,
    pub closure: &'static str,
}

#[derive(Debug, Clone)]
pub enum Journey {
    Declined { reason: &'static str },
    NotContactable,
    Engaged(Engaged),
}

impl Journey {
    /// The outcome's name in the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Journey::Declined { .. } => "declined",
            Journey::NotContactable => "not_contactable",
            Journey::Engaged(_) => "engaged",
        }
    }
}

/// Reads people make around one referral.
#[derive(Debug, Clone, Copy)]
pub struct Reads {
    /// The link worker opens the caseload page before working the case.
    pub caseload: bool,
    /// The referrer follows the referral up afterwards.
    pub referrer: bool,
    /// The commissioner reads the area's summary, or the outcome feed (CSV).
    pub summary: bool,
    pub feed: bool,
}

/// Everything referral `i` does.
#[derive(Debug, Clone)]
pub struct Referral {
    pub index: u64,
    pub referrer: usize,
    pub channel: Channel,
    /// Synthetic person number (see [`crate::demo::referral_body`]).
    pub person: u64,
    pub journey: Journey,
    pub reads: Reads,
}

/// Share of referrals declined by the service, and of those not contactable: 18% + 20%,
/// within DOMAIN.md's 30-45% that never become engaged cases.
const DECLINED: f64 = 0.18;
const NOT_CONTACTABLE: f64 = 0.20;

pub fn referral(seed: u64, orgs: &Organisations, shape: &Shape, i: u64) -> Referral {
    let mut rng = Rng::for_item(seed, REFERRALS, i);
    let referrer = rng.range(0, orgs.referrers.len() as u64 - 1) as usize;
    let channel = if rng.chance(f64::from(shape.fhir_percent) / 100.0) {
        Channel::Fhir
    } else {
        Channel::Json
    };
    // A few people are referred again (a possible duplicate for the service to see).
    let person = if i > 0 && rng.chance(0.02) {
        rng.range(0, i - 1)
    } else {
        i
    };
    let roll = rng.unit();
    let journey = if roll < DECLINED {
        Journey::Declined {
            reason: rng.pick(&["person_declined", "not_appropriate", "out_of_area"]),
        }
    } else if roll < DECLINED + NOT_CONTACTABLE {
        Journey::NotContactable
    } else {
        Journey::Engaged(engaged(&mut rng, orgs.directory.len()))
    };
    Referral {
        index: i,
        referrer,
        channel,
        person,
        journey,
        reads: Reads {
            caseload: rng.chance(0.3),
            referrer: rng.chance(0.3),
            summary: rng.chance(0.1),
            feed: rng.chance(0.05),
        },
    }
}

fn engaged(rng: &mut Rng, directory: usize) -> Engaged {
    let wanted = rng.range(1, 3) as usize;
    let mut connections: Vec<(usize, Answer)> = Vec::with_capacity(wanted);
    while connections.len() < wanted {
        let service = rng.range(0, directory as u64 - 1) as usize;
        if connections.iter().all(|(s, _)| *s != service) {
            let answer = match rng.range(0, 9) {
                0..=6 => Answer::AcceptedAndAttended,
                7 => Answer::Accepted,
                _ => Answer::Declined,
            };
            connections.push((service, answer));
        }
    }
    Engaged {
        failed_attempts: rng.range(0, 2) as u8,
        contacts: rng.range(6, 12) as u8,
        connections,
        outcomes: rng.range(2, 3) as u8,
        instrument: if rng.chance(0.6) { "swemwbs" } else { "ons4" },
        closure: match rng.range(0, 19) {
            0..=13 => "goals_met",
            14..=16 => "disengaged",
            17..=18 => "moved_away",
            _ => "referred_elsewhere",
        },
    }
}

/// Item answers for one measure of `instrument`, from referral `i`'s stream.
pub fn item_answers(seed: u64, i: u64, n: u8, instrument: &str) -> Vec<u8> {
    let mut rng = Rng::for_item(seed, REFERRALS ^ 0x5A5A, i * 8 + u64::from(n));
    let (count, lo, hi) = match instrument {
        "ons4" => (4, 0, 10),
        _ => (7, 1, 5),
    };
    (0..count).map(|_| rng.range(lo, hi) as u8).collect()
}

/// Open-loop arrival times (offsets from the start) at `rate` per second: a Poisson
/// process from the seed, so the schedule is the same on every run.
pub fn arrivals(seed: u64, rate: f64) -> impl Iterator<Item = Duration> {
    let mut rng = Rng::for_item(seed, ARRIVALS, 0);
    let mut at = 0.0f64;
    std::iter::from_fn(move || {
        let now = at;
        at += -(1.0 - rng.unit()).ln() / rate.max(1e-9);
        Some(Duration::from_secs_f64(now))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            referrers: 24,
            areas: 2,
            services_per_area: 2,
            directory: 12,
            fhir_percent: 30,
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_referrals_and_another_seed_others() {
        let orgs = organisations(7, "r1", &shape());
        let a: Vec<String> = (0..50)
            .map(|i| format!("{:?}", referral(7, &orgs, &shape(), i)))
            .collect();
        let b: Vec<String> = (0..50)
            .map(|i| format!("{:?}", referral(7, &orgs, &shape(), i)))
            .collect();
        let c: Vec<String> = (0..50)
            .map(|i| format!("{:?}", referral(8, &orgs, &shape(), i)))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_journey_mix_follows_the_load_model() {
        let orgs = organisations(1, "r1", &shape());
        let plans: Vec<Referral> = (0..4000).map(|i| referral(1, &orgs, &shape(), i)).collect();
        let never = plans
            .iter()
            .filter(|p| !matches!(p.journey, Journey::Engaged(_)))
            .count() as f64
            / plans.len() as f64;
        assert!((0.30..=0.45).contains(&never), "{never}");
        for p in &plans {
            if let Journey::Engaged(e) = &p.journey {
                assert!((6..=12).contains(&e.contacts));
                assert!((1..=3).contains(&e.connections.len()));
                assert!((2..=3).contains(&e.outcomes));
                assert!(e.failed_attempts < 3);
            }
        }
        let fhir = plans.iter().filter(|p| p.channel == Channel::Fhir).count();
        assert!((1000..1400).contains(&fhir), "{fhir}");
    }

    #[test]
    fn arrivals_come_at_about_the_rate_asked_for() {
        let last = arrivals(3, 200.0).nth(2000).unwrap();
        assert!((9.0..11.0).contains(&last.as_secs_f64()), "{last:?}");
    }
}
