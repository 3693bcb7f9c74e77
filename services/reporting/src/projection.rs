//! The `reporting` projection: one pseudonymised [`Journey`] row per referral, plus the
//! organisations it is reported under.
//!
//! Set-wise: a batch loads the rows it touches with one query, folds every event into them
//! in memory, and writes them back with one `INSERT .. SELECT FROM jsonb_populate_recordset`.
//! Organisations are kept here (not read from the `registry` schema) so that a rebuild
//! depends on nothing but the log; aggregates join them at query time, so a referral made
//! before its organisation was registered is still reported under the right area.

use std::collections::HashMap;

use linkway_events::registry::RegistryEvent;
use linkway_events::{Event, ReferralEvent};
use linkway_platform::{Projected, Projection};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::journey::Journey;
use crate::pseudonym::Pseudonymiser;

/// The reporting read model.
pub struct Reporting {
    /// Keys rows by referral pseudonym.
    pub pseudonyms: Pseudonymiser,
}

/// Columns of `referrals` a batch rewrites (all but the key).
const COLUMNS: &[&str] = &[
    "referred_on",
    "referrer_org",
    "link_worker_org",
    "needs",
    "age_band",
    "routed",
    "accepted",
    "declined_reason",
    "contact_attempts",
    "could_not_contact",
    "contacts",
    "first_contact_on",
    "plan_agreed",
    "plan_reviews",
    "connections_made",
    "connections_accepted",
    "connections_declined",
    "connections_attended",
    "safeguarding_raised",
    "swemwbs_baseline",
    "swemwbs_latest",
    "ons4_baseline",
    "ons4_latest",
    "ucla3_baseline",
    "ucla3_latest",
    "closed_reason",
    "withdrawn",
    "entered_in_error",
    "updated_seq",
];

fn referral_id(event: &Event) -> Option<Uuid> {
    Some(match event {
        Event::Referral(e) => match e {
            ReferralEvent::Received(r) => r.referral_id,
            ReferralEvent::Routed(r) => r.referral_id,
            ReferralEvent::Unroutable(r) => r.referral_id,
            ReferralEvent::Withdrawn(r) => r.referral_id,
            ReferralEvent::EnteredInError(r) => r.referral_id,
        },
        // Every case event's aggregate is its referral; the envelope says which.
        Event::Case(_) => return None,
        Event::Registry(_) => return None,
    })
}

impl Reporting {
    /// The pseudonym of the referral an event is about, if it is about one.
    fn pseudonym_of(&self, p: &Projected) -> Option<String> {
        let id = match &p.event {
            Event::Case(_) => Uuid::parse_str(&p.envelope.aggregate_id).ok()?,
            other => referral_id(other)?,
        };
        Some(self.pseudonyms.referral(id))
    }
}

impl Projection for Reporting {
    const NAME: &'static str = "reporting";
    const VERSION: i32 = 2;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS organisations (
            organisation_id   text PRIMARY KEY,
            kind              text NOT NULL,
            commissioner_area text
        );
        CREATE TABLE IF NOT EXISTS referrals (
            pseudonym            text PRIMARY KEY,
            referred_on          date,
            referrer_org         text,
            link_worker_org      text,
            needs                text[] NOT NULL DEFAULT '{}',
            age_band             text,
            routed               boolean NOT NULL DEFAULT false,
            accepted             boolean NOT NULL DEFAULT false,
            declined_reason      text,
            contact_attempts     integer NOT NULL DEFAULT 0,
            could_not_contact    boolean NOT NULL DEFAULT false,
            contacts             integer NOT NULL DEFAULT 0,
            first_contact_on     date,
            plan_agreed          boolean NOT NULL DEFAULT false,
            plan_reviews         integer NOT NULL DEFAULT 0,
            connections_made     integer NOT NULL DEFAULT 0,
            connections_accepted integer NOT NULL DEFAULT 0,
            connections_declined integer NOT NULL DEFAULT 0,
            connections_attended integer NOT NULL DEFAULT 0,
            safeguarding_raised  integer NOT NULL DEFAULT 0,
            swemwbs_baseline     double precision,
            swemwbs_latest       double precision,
            ons4_baseline        smallint[],
            ons4_latest          smallint[],
            ucla3_baseline       smallint,
            ucla3_latest         smallint,
            closed_reason        text,
            withdrawn            boolean NOT NULL DEFAULT false,
            entered_in_error     boolean NOT NULL DEFAULT false,
            updated_seq          bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS referrals_updated_seq ON referrals (updated_seq);
        CREATE INDEX IF NOT EXISTS referrals_referred_on ON referrals (referred_on);";

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), tokio_postgres::Error> {
        let mut keyed: Vec<(String, &Projected)> = Vec::with_capacity(batch.len());
        for p in batch {
            match &p.event {
                Event::Registry(RegistryEvent::OrganisationRegistered(o)) => {
                    // Rare: row by row, in order, so the latest registration wins.
                    tx.execute(
                        "INSERT INTO organisations VALUES ($1, $2, $3)
                         ON CONFLICT (organisation_id) DO UPDATE SET kind = $2, commissioner_area = $3",
                        &[&o.organisation_id, &o.kind.as_str(), &o.commissioner_area],
                    )
                    .await?;
                }
                Event::Referral(_) | Event::Case(_) => {
                    if let Some(pseudonym) = self.pseudonym_of(p) {
                        keyed.push((pseudonym, p));
                    }
                }
                Event::Registry(_) => {}
            }
        }
        if keyed.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<&str> = keyed.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut rows: HashMap<String, Journey> = HashMap::with_capacity(keys.len());
        for row in tx
            .query(
                "SELECT to_jsonb(r) FROM referrals r WHERE pseudonym = ANY($1)",
                &[&keys],
            )
            .await?
        {
            let json: serde_json::Value = row.get(0);
            let journey: Journey = serde_json::from_value(json)
                .expect("rows of referrals always read back as a Journey");
            rows.insert(journey.pseudonym.clone(), journey);
        }
        for (pseudonym, p) in &keyed {
            let journey = rows
                .entry(pseudonym.clone())
                .or_insert_with(|| Journey::new(pseudonym.clone()));
            let day = p
                .envelope
                .occurred_at
                .to_offset(time::UtcOffset::UTC)
                .date();
            journey.apply(&p.event, day, p.sequence);
        }
        let changed: Vec<&Journey> = rows.values().collect();
        let json = serde_json::to_value(&changed).expect("journeys serialise");
        let set = COLUMNS
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        tx.execute(
            &format!(
                "INSERT INTO referrals SELECT * FROM jsonb_populate_recordset(NULL::referrals, $1::jsonb)
                 ON CONFLICT (pseudonym) DO UPDATE SET {set}"
            ),
            &[&json],
        )
        .await?;
        Ok(())
    }
}
