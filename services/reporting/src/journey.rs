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
    /// position in the log. Events of other families are ignored.
    pub fn apply(&mut self, event: &Event, occurred_on: Date, sequence: u64) {
        let changed = match event {
            Event::Referral(e) => self.apply_referral(e, occurred_on),
            Event::Case(e) => self.apply_case(e, occurred_on),
            Event::Registry(_) => false,
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
            ReferralEvent::Unroutable(_) => return false,
            ReferralEvent::Withdrawn(_) => self.withdrawn = true,
            ReferralEvent::EnteredInError(_) => self.entered_in_error = true,
        }
        true
    }

    fn apply_case(&mut self, event: &CaseEvent, occurred_on: Date) -> bool {
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
            CaseEvent::Assigned(_) => return false,
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
                    _ => return false,
                }
            }
            CaseEvent::Closed(c) => self.closed_reason = Some(closure_reason(c.reason).to_owned()),
            CaseEvent::PlanReviewed(_) => self.plan_reviews += 1,
            CaseEvent::ConnectionMade(_) => self.connections_made += 1,
            CaseEvent::ConnectionAccepted(_) => self.connections_accepted += 1,
            CaseEvent::ConnectionDeclined(_) => self.connections_declined += 1,
            CaseEvent::ConnectionAttended(_) => self.connections_attended += 1,
            CaseEvent::SafeguardingRaised(_) => self.safeguarding_raised += 1,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkway_events::case::*;
    use linkway_events::common::Coding;
    use linkway_events::referral::*;
    use time::macros::date;
    use uuid::Uuid;

    fn received(id: Uuid) -> Event {
        ReferralEvent::Received(ReferralReceived {
            referral_id: id,
            referrer_organisation_id: "gp-1".into(),
            practitioner: Practitioner {
                name: "Dr Practitioner".into(),
                role: None,
                phone: None,
                email: None,
            },
            source_channel: SourceChannel::Api,
            needs: vec![
                Coding::snomed("1000", "loneliness"),
                Coding::snomed("2000", "debt"),
                Coding::snomed("1000", "loneliness"),
            ],
            urgency: Urgency::Routine,
            safeguarding_concern: false,
            legal_basis: LegalBasis::PublicTaskHealthCare,
            consent: Consent {
                referral_agreed: true,
                share_details_with_referrer: false,
            },
            postcode_district: "LS6".into(),
            age_band: "25-34".into(),
            personal: ReferralPersonal {
                person: Person {
                    nhs_number: Some("9434765919".into()),
                    nhs_number_verification: None,
                    given_name: "Ada".into(),
                    family_name: "Lovelace".into(),
                    birth_date: date!(1990 - 01 - 02),
                    address: Address {
                        lines: vec!["1 Street".into()],
                        postcode: "LS6 1AA".into(),
                    },
                    phone: Some("07700900000".into()),
                    email: None,
                    preferred_contact_method: ContactMethod::Phone,
                    language: None,
                    interpreter_needed: false,
                    accessibility_needs: None,
                    gender: None,
                    ethnicity: None,
                },
                needs_text: Some("Feels alone since moving".into()),
                notes: None,
            },
            reply_to: None,
        })
        .into()
    }

    fn outcome(
        id: Uuid,
        instrument: &str,
        timepoint: Timepoint,
        answers: Vec<u8>,
        raw: Option<u32>,
        derived: Option<f64>,
    ) -> Event {
        CaseEvent::OutcomeRecorded(OutcomeRecorded {
            referral_id: id,
            instrument: instrument.into(),
            instrument_version: "1".into(),
            algorithm_version: 1,
            timepoint,
            item_answers: answers,
            raw_score: raw,
            derived_score: derived,
        })
        .into()
    }

    #[test]
    fn a_whole_journey_keeps_facts_and_no_personal_data() {
        let id = Uuid::now_v7();
        let mut j = Journey::new("p".into());
        j.apply(&received(id), date!(2026 - 01 - 10), 1);
        j.apply(
            &ReferralEvent::Routed(ReferralRouted {
                referral_id: id,
                link_worker_organisation_id: "lw-1".into(),
                rule_id: None,
            })
            .into(),
            date!(2026 - 01 - 10),
            2,
        );
        j.apply(
            &CaseEvent::Accepted(CaseAccepted {
                referral_id: id,
                link_worker_organisation_id: "lw-1".into(),
            })
            .into(),
            date!(2026 - 01 - 11),
            3,
        );
        for (day, seq) in [(date!(2026 - 01 - 20), 5), (date!(2026 - 01 - 15), 4)] {
            j.apply(
                &CaseEvent::ContactMade(ContactMade {
                    referral_id: id,
                    channel: ContactChannel::Phone,
                    minutes: 45,
                    personal: Some(ContactPersonal {
                        notes: "Ada said".into(),
                    }),
                })
                .into(),
                day,
                seq,
            );
        }
        j.apply(
            &outcome(
                id,
                "swemwbs",
                Timepoint::Baseline,
                vec![2; 7],
                Some(14),
                Some(15.32),
            ),
            date!(2026 - 01 - 15),
            6,
        );
        j.apply(
            &outcome(id, "swemwbs", Timepoint::Review, vec![3; 7], Some(21), None),
            date!(2026 - 03 - 15),
            7,
        );
        j.apply(
            &outcome(
                id,
                "ons4",
                Timepoint::Baseline,
                vec![4, 5, 6, 7],
                None,
                None,
            ),
            date!(2026 - 01 - 15),
            8,
        );
        j.apply(
            &outcome(id, "ucla3", Timepoint::Exit, vec![1, 2, 1], None, None),
            date!(2026 - 04 - 15),
            9,
        );
        j.apply(
            &outcome(id, "eq5d", Timepoint::Exit, vec![1], None, None),
            date!(2026 - 04 - 15),
            10,
        );
        j.apply(
            &CaseEvent::Closed(CaseClosed {
                referral_id: id,
                reason: ClosureReason::GoalsMet,
            })
            .into(),
            date!(2026 - 04 - 16),
            11,
        );
        assert_eq!(j.referred_on, Some(date!(2026 - 01 - 10)));
        assert_eq!(j.needs, vec!["1000".to_owned(), "2000".to_owned()]);
        assert_eq!(j.age_band.as_deref(), Some("25-34"));
        assert!(j.routed && j.accepted);
        assert_eq!(j.link_worker_org.as_deref(), Some("lw-1"));
        assert_eq!(j.contacts, 2);
        assert_eq!(j.first_contact_on, Some(date!(2026 - 01 - 15)));
        assert_eq!(j.swemwbs_baseline, Some(15.32));
        assert_eq!(j.swemwbs_latest, Some(19.25));
        assert_eq!(j.ons4_baseline, Some(vec![4, 5, 6, 7]));
        assert_eq!(j.ucla3_latest, Some(4));
        assert_eq!(j.closed_reason.as_deref(), Some("goals_met"));
        // The unknown instrument changed nothing, so the closure is the last change.
        assert_eq!(j.updated_seq, 11);
        let row = serde_json::to_string(&j).unwrap();
        for personal in [
            "Ada",
            "Lovelace",
            "9434765919",
            "LS6 1AA",
            "1990",
            "07700900000",
            "alone",
            "Dr Practitioner",
        ] {
            assert!(!row.contains(personal), "{personal} leaked into {row}");
        }
    }

    #[test]
    fn decline_then_round_trip_through_json() {
        let id = Uuid::now_v7();
        let mut j = Journey::new("p".into());
        j.apply(
            &CaseEvent::Declined(CaseDeclined {
                referral_id: id,
                link_worker_organisation_id: "lw-2".into(),
                reason: DeclineReason::PersonDeclined,
                reason_code: None,
            })
            .into(),
            date!(2026 - 02 - 01),
            7,
        );
        assert_eq!(j.declined_reason.as_deref(), Some("person_declined"));
        assert_eq!(j.link_worker_org.as_deref(), Some("lw-2"));
        assert_eq!(
            j.referred_on, None,
            "a case event alone does not make a referral"
        );
        let back: Journey = serde_json::from_value(serde_json::to_value(&j).unwrap()).unwrap();
        assert_eq!(back, j);
    }

    #[test]
    fn connections_reviews_safeguarding_and_giving_up_on_contact_are_counted() {
        let id = Uuid::now_v7();
        let connection_id = Uuid::now_v7();
        let day = date!(2026 - 03 - 01);
        let mut j = Journey::new("p".into());
        let events: Vec<Event> = vec![
            CaseEvent::ContactAttempted(ContactAttempted {
                referral_id: id,
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::NoAnswer,
                attempt_number: 1,
                could_not_contact: false,
            })
            .into(),
            CaseEvent::ContactAttempted(ContactAttempted {
                referral_id: id,
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::NoAnswer,
                attempt_number: 2,
                could_not_contact: true,
            })
            .into(),
            CaseEvent::PlanReviewed(PlanReviewed {
                referral_id: id,
                next_review_date: day,
                goal_count: 1,
                personal: PlanPersonal {
                    what_matters: "x".into(),
                    goals: vec![],
                    actions: vec![],
                },
            })
            .into(),
            // From JSON: the payload gains optional fields over time.
            CaseEvent::ConnectionMade(
                serde_json::from_value(serde_json::json!({
                    "referral_id": id, "connection_id": connection_id,
                    "service_id": "walking-group", "service_name": "Walking group"
                }))
                .unwrap(),
            )
            .into(),
            CaseEvent::ConnectionAccepted(ConnectionAccepted {
                referral_id: id,
                connection_id,
            })
            .into(),
            CaseEvent::ConnectionAttended(ConnectionAttended {
                referral_id: id,
                connection_id,
            })
            .into(),
            CaseEvent::ConnectionDeclined(ConnectionDeclined {
                referral_id: id,
                connection_id,
            })
            .into(),
            CaseEvent::SafeguardingRaised(SafeguardingRaised {
                referral_id: id,
                personal: SafeguardingPersonal {
                    concern: "Ada's neighbour".into(),
                },
            })
            .into(),
        ];
        for (seq, e) in events.iter().enumerate() {
            j.apply(e, day, seq as u64 + 1);
        }
        assert_eq!((j.contact_attempts, j.could_not_contact), (2, true));
        assert_eq!(j.plan_reviews, 1);
        assert_eq!(
            (
                j.connections_made,
                j.connections_accepted,
                j.connections_attended,
                j.connections_declined
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(j.safeguarding_raised, 1);
        assert_eq!(j.updated_seq, 8);
        assert!(!serde_json::to_string(&j).unwrap().contains("Ada"));
    }

    #[test]
    fn swemwbs_conversion_covers_the_raw_range_only() {
        assert_eq!(swemwbs_metric(7), Some(7.00));
        assert_eq!(swemwbs_metric(21), Some(19.25));
        assert_eq!(swemwbs_metric(22), Some(19.98));
        assert_eq!(swemwbs_metric(35), Some(35.00));
        assert_eq!(swemwbs_metric(6), None);
        assert_eq!(swemwbs_metric(36), None);
        let all: Vec<f64> = (7..=35).map(|r| swemwbs_metric(r).unwrap()).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "monotone");
    }
}
