//! One referral's journey as reporting keeps it: facts and dates, no person.
//!
//! [`Journey::apply`] folds one event into the row. It reads only the non-personal fields
//! of events: a `personal` part is never looked at, so nothing identifying can reach the
//! read model (names, NHS numbers, contact details, free text and dates of birth live only
//! there; the referral carries an age band and postcode district instead).
//! Pure: no I/O, so it is tested directly.

use linkway_events::case::{CaseEvent, ClosureReason, DeclineReason, Timepoint};
use linkway_events::referral::ReferralEvent;
use linkway_events::{Event, common::calendar_date};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::pseudonym::Pseudonymiser;

/// Kind of service counted for a connection whose event named none (the directory had no
/// taxonomy term for the service, or the connection predates `case.connection_made` v2).
pub const NO_KIND: &str = "not_recorded";

/// One onward connection of a journey: its kind of service and how it was answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Keyed hash of the connection id ([`Pseudonymiser::connection`]).
    pub key: String,
    /// The kind of service, or [`NO_KIND`].
    pub kind: String,
    /// Its making was seen (an answer may come for a connection made before a rebuild's
    /// start; never in a whole log).
    pub made: bool,
    pub accepted: bool,
    pub declined: bool,
    pub attended: bool,
}

/// Separates the connections of a journey in their stored text.
const RECORD_SEPARATOR: char = '\u{1e}';
/// Separates a connection's fields (kinds are directory terms on one line: never either).
const UNIT_SEPARATOR: char = '\u{1f}';

/// The `connections` column: `key US kind US flags`, joined by RS; flags are `m` made,
/// `a` accepted, `d` declined and `t` attended.
pub fn connections_text(connections: &[Connection]) -> String {
    let mut out = String::new();
    for (i, c) in connections.iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        out.push_str(&c.key);
        out.push(UNIT_SEPARATOR);
        out.push_str(&c.kind);
        out.push(UNIT_SEPARATOR);
        for (set, flag) in [
            (c.made, 'm'),
            (c.accepted, 'a'),
            (c.declined, 'd'),
            (c.attended, 't'),
        ] {
            if set {
                out.push(flag);
            }
        }
    }
    out
}

/// Reads what [`connections_text`] wrote.
pub fn parse_connections(text: &str) -> Vec<Connection> {
    text.split(RECORD_SEPARATOR)
        .filter(|r| !r.is_empty())
        .map(|record| {
            let mut fields = record.split(UNIT_SEPARATOR);
            let key = fields.next().unwrap_or_default().to_owned();
            let kind = fields.next().unwrap_or(NO_KIND).to_owned();
            let flags = fields.next().unwrap_or_default();
            Connection {
                key,
                kind,
                made: flags.contains('m'),
                accepted: flags.contains('a'),
                declined: flags.contains('d'),
                attended: flags.contains('t'),
            }
        })
        .collect()
}

/// One row of `reporting.referrals`, keyed by the referral's pseudonym.
///
/// Field names are the column names (see [`crate::projection`], which moves rows in and
/// out set-wise); the serde form is for tests and debugging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    /// Keyed hash of the referral id (see [`crate::pseudonym`]).
    pub pseudonym: String,
    /// Day the referral was received (UTC); its month is the reporting month.
    #[serde(default, with = "calendar_date::option")]
    pub referred_on: Option<Date>,
    /// The referring organisation (an organisation, not a person).
    pub referrer_org: Option<String>,
    /// The link-worker service it was routed to or that decided on it.
    pub link_worker_org: Option<String>,
    /// Needs as codes (SNOMED CT); never their free text.
    #[serde(default)]
    pub needs: Vec<String>,
    pub age_band: Option<String>,
    #[serde(default)]
    pub routed: bool,
    #[serde(default)]
    pub accepted: bool,
    /// Why the service declined it, when it did.
    pub declined_reason: Option<String>,
    #[serde(default)]
    pub contact_attempts: i32,
    /// The service gave up reaching the person after its limit of attempts.
    #[serde(default)]
    pub could_not_contact: bool,
    #[serde(default)]
    pub contacts: i32,
    /// Day of the first contact made (not attempted).
    #[serde(default, with = "calendar_date::option")]
    pub first_contact_on: Option<Date>,
    #[serde(default)]
    pub plan_agreed: bool,
    #[serde(default)]
    pub plan_reviews: i32,
    #[serde(default)]
    pub connections_made: i32,
    #[serde(default)]
    pub connections_accepted: i32,
    #[serde(default)]
    pub connections_declined: i32,
    #[serde(default)]
    pub connections_attended: i32,
    /// Each onward connection with its kind of service (the counts above are of events).
    #[serde(default)]
    pub connections: Vec<Connection>,
    #[serde(default)]
    pub safeguarding_raised: i32,
    /// SWEMWBS metric score at baseline, and at the latest later timepoint.
    pub swemwbs_baseline: Option<f64>,
    pub swemwbs_latest: Option<f64>,
    /// ONS4 items (life satisfaction, worthwhile, happy, anxious), baseline and latest.
    pub ons4_baseline: Option<Vec<i16>>,
    pub ons4_latest: Option<Vec<i16>>,
    /// UCLA 3-item loneliness total (3-9), baseline and latest.
    pub ucla3_baseline: Option<i16>,
    pub ucla3_latest: Option<i16>,
    /// MYCaW profile score (0-6, lower is better), baseline and latest.
    pub mycaw_baseline: Option<f64>,
    pub mycaw_latest: Option<f64>,
    pub closed_reason: Option<String>,
    #[serde(default)]
    pub withdrawn: bool,
    /// Excluded from every figure: the referral should never have existed.
    #[serde(default)]
    pub entered_in_error: bool,
    /// Stream sequence of the last event that changed the row: the outcome feed's cursor.
    #[serde(default)]
    pub updated_seq: i64,
}

/// SWEMWBS raw total (7-35) to metric score, from the Warwick conversion table.
pub fn swemwbs_metric(raw: u32) -> Option<f64> {
    const TABLE: [f64; 29] = [
        7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98,
        18.59, 19.25, 19.98, 20.73, 21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31,
        30.70, 32.55, 35.00,
    ];
    raw.checked_sub(7)
        .and_then(|i| TABLE.get(i as usize))
        .copied()
}

/// MYCaW profile score: the mean of the answers, to two decimals (lower is better).
pub fn mycaw_profile(answers: &[u8]) -> f64 {
    let total: u32 = answers.iter().map(|&a| u32::from(a)).sum();
    let mean = f64::from(total) / answers.len().max(1) as f64;
    (mean * 100.0).round() / 100.0
}

fn decline_reason(r: DeclineReason) -> &'static str {
    match r {
        DeclineReason::OutOfArea => "out_of_area",
        DeclineReason::NotAppropriate => "not_appropriate",
        DeclineReason::PersonDeclined => "person_declined",
        DeclineReason::ReferredElsewhere => "referred_elsewhere",
    }
}

/// Wire name of a closure reason.
pub fn closure_reason(r: ClosureReason) -> &'static str {
    match r {
        ClosureReason::GoalsMet => "goals_met",
        ClosureReason::Disengaged => "disengaged",
        ClosureReason::CouldNotContact => "could_not_contact",
        ClosureReason::MovedAway => "moved_away",
        ClosureReason::ReferredElsewhere => "referred_elsewhere",
        ClosureReason::Died => "died",
        ClosureReason::Other => "other",
    }
}

impl Journey {
    pub fn new(pseudonym: String) -> Journey {
        Journey {
            pseudonym,
            ..Journey::default()
        }
    }

    /// Folds one event in. `occurred_on` is the day it happened (UTC), `sequence` its
    /// position in the log; `keys` hashes connection ids. Events of other families are
    /// ignored.
    pub fn apply(&mut self, event: &Event, occurred_on: Date, sequence: u64, keys: &Pseudonymiser) {
        let changed = match event {
            Event::Referral(e) => self.apply_referral(e, occurred_on),
            Event::Case(e) => self.apply_case(e, occurred_on, keys),
            // Erasing a person leaves the counts: a journey holds nothing about them.
            Event::Registry(_) | Event::Person(_) | Event::Audit(_) => false,
        };
        if changed {
            self.updated_seq = self.updated_seq.max(sequence as i64);
        }
    }

    fn apply_referral(&mut self, event: &ReferralEvent, occurred_on: Date) -> bool {
        match event {
            ReferralEvent::Received(r) => {
                // Only the coded, non-personal fields: `r.personal` is never read.
                self.referred_on = Some(occurred_on);
                self.referrer_org = Some(r.referrer_organisation_id.clone());
                self.needs = r.needs.iter().map(|c| c.code.clone()).collect();
                self.needs.sort();
                self.needs.dedup();
                self.age_band = Some(r.age_band.clone());
            }
            ReferralEvent::Routed(r) => {
                self.routed = true;
                self.link_worker_org = Some(r.link_worker_organisation_id.clone());
            }
            // A rectified person's details: a journey holds nothing about them. A corrected
            // birth date may move the age band kept from `referral.received`, but the
            // correction carries only `personal`, which is never read here, so the band
            // stays as received (no figure breaks it down yet). For it to follow, the
            // correction would need a new version carrying the non-personal `age_band`
            // (and `postcode_district`) intake works out from the corrected details, as it
            // does at submit; intake's own read model already moves both.
            ReferralEvent::Unroutable(_) | ReferralEvent::PersonCorrected(_) => return false,
            ReferralEvent::Withdrawn(_) => self.withdrawn = true,
            ReferralEvent::EnteredInError(_) => self.entered_in_error = true,
        }
        true
    }

    /// The connection keyed `key`, added (with no kind) if its making was never seen.
    fn connection(&mut self, key: String) -> &mut Connection {
        let at = match self.connections.iter().position(|c| c.key == key) {
            Some(at) => at,
            None => {
                self.connections.push(Connection {
                    key,
                    kind: NO_KIND.to_owned(),
                    ..Connection::default()
                });
                self.connections.len() - 1
            }
        };
        &mut self.connections[at]
    }

    fn apply_case(&mut self, event: &CaseEvent, occurred_on: Date, keys: &Pseudonymiser) -> bool {
        match event {
            CaseEvent::Accepted(a) => {
                self.accepted = true;
                self.declined_reason = None;
                self.link_worker_org
                    .get_or_insert_with(|| a.link_worker_organisation_id.clone());
            }
            CaseEvent::Declined(d) => {
                self.accepted = false;
                self.declined_reason = Some(decline_reason(d.reason).to_owned());
                self.link_worker_org
                    .get_or_insert_with(|| d.link_worker_organisation_id.clone());
            }
            // Nothing reporting counts (yet): who holds the case, a service reminded,
            // appointments (a missed one is a contact attempt, counted there).
            CaseEvent::Assigned(_)
            | CaseEvent::ConnectionReminded(_)
            | CaseEvent::AppointmentBooked(_)
            | CaseEvent::AppointmentMoved(_)
            | CaseEvent::AppointmentCancelled(_) => return false,
            CaseEvent::ContactAttempted(a) => {
                self.contact_attempts += 1;
                self.could_not_contact |= a.could_not_contact;
            }
            CaseEvent::ContactMade(_) => {
                self.contacts += 1;
                self.first_contact_on = Some(match self.first_contact_on {
                    Some(first) => first.min(occurred_on),
                    None => occurred_on,
                });
            }
            CaseEvent::PlanAgreed(_) => self.plan_agreed = true,
            CaseEvent::OutcomeRecorded(o) => {
                let baseline = o.timepoint == Timepoint::Baseline;
                match o.instrument.as_str() {
                    "swemwbs" => {
                        let metric = o
                            .derived_score
                            .or_else(|| o.raw_score.and_then(swemwbs_metric))
                            .or_else(|| {
                                let raw: u32 = o.item_answers.iter().map(|&a| u32::from(a)).sum();
                                (o.item_answers.len() == 7)
                                    .then(|| swemwbs_metric(raw))
                                    .flatten()
                            });
                        let Some(metric) = metric else { return false };
                        if baseline {
                            self.swemwbs_baseline = Some(metric);
                        } else {
                            self.swemwbs_latest = Some(metric);
                        }
                    }
                    "ons4" => {
                        if o.item_answers.len() != 4 {
                            return false;
                        }
                        let items = o.item_answers.iter().map(|&a| i16::from(a)).collect();
                        if baseline {
                            self.ons4_baseline = Some(items);
                        } else {
                            self.ons4_latest = Some(items);
                        }
                    }
                    "ucla3" => {
                        let total = o
                            .raw_score
                            .map(|r| r as i16)
                            .unwrap_or_else(|| o.item_answers.iter().map(|&a| i16::from(a)).sum());
                        if baseline {
                            self.ucla3_baseline = Some(total);
                        } else {
                            self.ucla3_latest = Some(total);
                        }
                    }
                    "mycaw" => {
                        // The profile score link-worker derived; else the mean of the
                        // answers (two or three, each 0-6), as link-worker scores it. The
                        // concerns themselves are `personal`: never read.
                        let profile = o.derived_score.or_else(|| {
                            (2..=3)
                                .contains(&o.item_answers.len())
                                .then(|| mycaw_profile(&o.item_answers))
                        });
                        let Some(profile) = profile else { return false };
                        if baseline {
                            self.mycaw_baseline = Some(profile);
                        } else {
                            self.mycaw_latest = Some(profile);
                        }
                    }
                    _ => return false,
                }
            }
            CaseEvent::Closed(c) => self.closed_reason = Some(closure_reason(c.reason).to_owned()),
            CaseEvent::PlanReviewed(_) => self.plan_reviews += 1,
            CaseEvent::ConnectionMade(c) => {
                self.connections_made += 1;
                let kind = c.service_kind.as_deref().unwrap_or(NO_KIND).to_owned();
                let connection = self.connection(keys.connection(c.connection_id));
                connection.kind = kind;
                connection.made = true;
            }
            CaseEvent::ConnectionAccepted(c) => {
                self.connections_accepted += 1;
                self.connection(keys.connection(c.connection_id)).accepted = true;
            }
            CaseEvent::ConnectionDeclined(c) => {
                self.connections_declined += 1;
                self.connection(keys.connection(c.connection_id)).declined = true;
            }
            CaseEvent::ConnectionAttended(c) => {
                self.connections_attended += 1;
                self.connection(keys.connection(c.connection_id)).attended = true;
            }
            CaseEvent::SafeguardingRaised(_) => self.safeguarding_raised += 1,
        }
        true
    }
}

#[cfg(test)]
mod tests;
