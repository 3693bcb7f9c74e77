//! The `reporting` projection: one pseudonymised [`Journey`] row per referral, plus the
//! organisations it is reported under.
//!
//! Set-wise: a batch loads the rows it touches with one query, folds every event into them
//! in memory, and writes them back with one `INSERT .. SELECT FROM UNNEST(..)` of typed
//! arrays, one per column. A small `changes` table keeps, per month and organisations, the
//! sequence of the last change: the outcome feed's cursor resumes from it.
//! Organisations are kept here (not read from the `registry` schema) so that a rebuild
//! depends on nothing but the log; aggregates join them at query time, so a referral made
//! before its organisation was registered is still reported under the right area.

use std::collections::{BTreeMap, HashMap};

use linkway_events::registry::RegistryEvent;
use linkway_events::{Event, ReferralEvent};
use linkway_platform::projection::ProjectionError;
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
    "connections",
    "safeguarding_raised",
    "swemwbs_baseline",
    "swemwbs_latest",
    "ons4_baseline",
    "ons4_latest",
    "ucla3_baseline",
    "ucla3_latest",
    "mycaw_baseline",
    "mycaw_latest",
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
            // A rectified person's details change no count.
            ReferralEvent::PersonCorrected(_) => return None,
        },
        // Every case event's aggregate is its referral; the envelope says which.
        Event::Case(_) => return None,
        // An erasure changes no count; reads are audited elsewhere.
        Event::Registry(_) | Event::Person(_) | Event::Audit(_) => return None,
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
    // v6: change marks per event (the cell a journey left too), so batch boundaries do
    // not change them; registrations apply after the journeys before them in a batch.
    // v7: each journey's connections with their kind of service (`connections`).
    // v8: MYCaW profile scores, baseline and latest (`mycaw_*`).
    const NAME: &'static str = "reporting";
    const VERSION: i32 = 8;
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
            connections          text NOT NULL DEFAULT '',
            safeguarding_raised  integer NOT NULL DEFAULT 0,
            swemwbs_baseline     double precision,
            swemwbs_latest       double precision,
            ons4_baseline        smallint[],
            ons4_latest          smallint[],
            ucla3_baseline       smallint,
            ucla3_latest         smallint,
            mycaw_baseline       double precision,
            mycaw_latest         double precision,
            closed_reason        text,
            withdrawn            boolean NOT NULL DEFAULT false,
            entered_in_error     boolean NOT NULL DEFAULT false,
            updated_seq          bigint NOT NULL DEFAULT 0
        );
        -- Room on each page for updates that touch no indexed column (HOT updates).
        ALTER TABLE referrals SET (fillfactor = 80);
        CREATE INDEX IF NOT EXISTS referrals_referred_on ON referrals (referred_on);
        -- What the outcome feed resumes from: the last change per month and organisations,
        -- so it never scans the referrals for changes.
        CREATE TABLE IF NOT EXISTS changes (
            month           date NOT NULL,
            referrer_org    text NOT NULL,
            link_worker_org text NOT NULL,
            updated_seq     bigint NOT NULL,
            PRIMARY KEY (month, referrer_org, link_worker_org)
        );
        -- Months an area lost referrals from when an organisation moved to another area.
        CREATE TABLE IF NOT EXISTS area_marks (
            area        text NOT NULL,
            month       date NOT NULL,
            updated_seq bigint NOT NULL,
            PRIMARY KEY (area, month)
        );";

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        let mut keyed: Vec<(String, &Projected)> = Vec::with_capacity(batch.len());
        for p in batch {
            match &p.event {
                Event::Registry(RegistryEvent::OrganisationRegistered(o)) => {
                    // The journeys before it in the batch are written first: the marks and
                    // the re-sent months must see exactly what the log held before this
                    // registration, whatever the batch boundaries (a rebuild's large
                    // batches and the live runner's small ones give the same tables).
                    self.apply_journeys(tx, &keyed).await?;
                    keyed.clear();
                    // Rare: row by row, in order, so the latest registration wins.
                    // Moving to another area: the old area's feed must re-send the months
                    // it loses (over-inclusive marks only re-send a month in full).
                    tx.execute(
                        "INSERT INTO area_marks
                         SELECT DISTINCT o.commissioner_area, c.month, $2::bigint FROM organisations o, changes c
                         WHERE o.organisation_id = $1 AND o.commissioner_area IS NOT NULL
                           AND o.commissioner_area IS DISTINCT FROM $3::text
                           AND (c.referrer_org = $1 OR c.link_worker_org = $1)
                         ON CONFLICT (area, month) DO UPDATE SET updated_seq = EXCLUDED.updated_seq",
                        &[&o.organisation_id, &(p.sequence as i64), &o.commissioner_area],
                    )
                    .await?;
                    tx.execute(
                        "INSERT INTO organisations VALUES ($1, $2, $3)
                         ON CONFLICT (organisation_id) DO UPDATE SET kind = $2, commissioner_area = $3",
                        &[&o.organisation_id, &o.kind.as_str(), &o.commissioner_area],
                    )
                    .await?;
                    // Its kind or area may have changed: the feed re-sends its months.
                    tx.execute(
                        "UPDATE changes SET updated_seq = $2
                         WHERE referrer_org = $1 OR link_worker_org = $1",
                        &[&o.organisation_id, &(p.sequence as i64)],
                    )
                    .await?;
                }
                Event::Referral(_) | Event::Case(_) => {
                    if let Some(pseudonym) = self.pseudonym_of(p) {
                        keyed.push((pseudonym, p));
                    }
                }
                Event::Registry(_) | Event::Person(_) | Event::Audit(_) => {}
            }
        }
        self.apply_journeys(tx, &keyed).await
    }
}

impl Reporting {
    /// Folds referral and case events into their journeys and writes the changed rows.
    async fn apply_journeys(
        &self,
        tx: &Transaction<'_>,
        keyed: &[(String, &Projected)],
    ) -> Result<(), ProjectionError> {
        if keyed.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<&str> = keyed.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut rows: HashMap<String, Journey> = HashMap::with_capacity(keys.len());
        let select = format!(
            "SELECT {} FROM referrals r WHERE pseudonym = ANY($1)",
            select_list("r")
        );
        for row in tx.query(&select, &[&keys]).await? {
            let journey = read_journey(&row, 0);
            rows.insert(journey.pseudonym.clone(), journey);
        }
        let mut marks = Marks::new();
        for (pseudonym, p) in keyed {
            let journey = rows
                .entry(pseudonym.clone())
                .or_insert_with(|| Journey::new(pseudonym.clone()));
            let day = p
                .envelope
                .occurred_at
                .to_offset(time::UtcOffset::UTC)
                .date();
            // The feed re-sends a cell whenever a journey in it changed, and the cell a
            // journey left too (routing moves it from "no service yet" to a service).
            // Marked per event, so the marks are the same whatever the batch boundaries.
            let (left, seen) = (cell(journey), journey.updated_seq);
            journey.apply(&p.event, day, p.sequence, &self.pseudonyms);
            if journey.updated_seq != seen {
                for c in [left, cell(journey)].into_iter().flatten() {
                    let seq = marks.entry(c).or_default();
                    *seq = (*seq).max(journey.updated_seq);
                }
            }
        }
        write_journeys(tx, rows.values()).await?;
        write_changes(tx, &marks).await?;
        Ok(())
    }
}

/// `pseudonym` then the other columns of `referrals` (as `alias`), in the order [`read_journey`] reads them.
pub fn select_list(alias: &str) -> String {
    std::iter::once("pseudonym")
        .chain(COLUMNS.iter().copied())
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a [`Journey`] from a row selected with [`select_list`], starting at column `at`.
pub fn read_journey(row: &tokio_postgres::Row, at: usize) -> Journey {
    Journey {
        pseudonym: row.get(at),
        referred_on: row.get(at + 1),
        referrer_org: row.get(at + 2),
        link_worker_org: row.get(at + 3),
        needs: row.get(at + 4),
        age_band: row.get(at + 5),
        routed: row.get(at + 6),
        accepted: row.get(at + 7),
        declined_reason: row.get(at + 8),
        contact_attempts: row.get(at + 9),
        could_not_contact: row.get(at + 10),
        contacts: row.get(at + 11),
        first_contact_on: row.get(at + 12),
        plan_agreed: row.get(at + 13),
        plan_reviews: row.get(at + 14),
        connections_made: row.get(at + 15),
        connections_accepted: row.get(at + 16),
        connections_declined: row.get(at + 17),
        connections_attended: row.get(at + 18),
        connections: crate::journey::parse_connections(row.get(at + 19)),
        safeguarding_raised: row.get(at + 20),
        swemwbs_baseline: row.get(at + 21),
        swemwbs_latest: row.get(at + 22),
        ons4_baseline: row.get(at + 23),
        ons4_latest: row.get(at + 24),
        ucla3_baseline: row.get(at + 25),
        ucla3_latest: row.get(at + 26),
        mycaw_baseline: row.get(at + 27),
        mycaw_latest: row.get(at + 28),
        closed_reason: row.get(at + 29),
        withdrawn: row.get(at + 30),
        entered_in_error: row.get(at + 31),
        updated_seq: row.get(at + 32),
    }
}

/// Separates need codes inside one text value (codes never contain it).
const UNIT_SEPARATOR: char = '\u{1f}';

fn joined<T: ToString>(items: &Option<Vec<T>>) -> Option<String> {
    items.as_ref().map(|v| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Upserts journeys with one statement: a typed array per column, unnested.
async fn write_journeys<'a>(
    tx: &Transaction<'_>,
    journeys: impl Iterator<Item = &'a Journey>,
) -> Result<(), tokio_postgres::Error> {
    let journeys: Vec<&Journey> = journeys.collect();
    macro_rules! column {
        ($f:expr) => {
            journeys.iter().map($f).collect::<Vec<_>>()
        };
    }
    let pseudonym = column!(|j| j.pseudonym.as_str());
    let referred_on = column!(|j| j.referred_on);
    let referrer_org = column!(|j| j.referrer_org.as_deref());
    let link_worker_org = column!(|j| j.link_worker_org.as_deref());
    let needs = column!(|j| j.needs.join(&UNIT_SEPARATOR.to_string()));
    let age_band = column!(|j| j.age_band.as_deref());
    let routed = column!(|j| j.routed);
    let accepted = column!(|j| j.accepted);
    let declined_reason = column!(|j| j.declined_reason.as_deref());
    let contact_attempts = column!(|j| j.contact_attempts);
    let could_not_contact = column!(|j| j.could_not_contact);
    let contacts = column!(|j| j.contacts);
    let first_contact_on = column!(|j| j.first_contact_on);
    let plan_agreed = column!(|j| j.plan_agreed);
    let plan_reviews = column!(|j| j.plan_reviews);
    let connections_made = column!(|j| j.connections_made);
    let connections_accepted = column!(|j| j.connections_accepted);
    let connections_declined = column!(|j| j.connections_declined);
    let connections_attended = column!(|j| j.connections_attended);
    let connections = column!(|j| crate::journey::connections_text(&j.connections));
    let safeguarding_raised = column!(|j| j.safeguarding_raised);
    let swemwbs_baseline = column!(|j| j.swemwbs_baseline);
    let swemwbs_latest = column!(|j| j.swemwbs_latest);
    let ons4_baseline = column!(|j| joined(&j.ons4_baseline));
    let ons4_latest = column!(|j| joined(&j.ons4_latest));
    let ucla3_baseline = column!(|j| j.ucla3_baseline);
    let ucla3_latest = column!(|j| j.ucla3_latest);
    let mycaw_baseline = column!(|j| j.mycaw_baseline);
    let mycaw_latest = column!(|j| j.mycaw_latest);
    let closed_reason = column!(|j| j.closed_reason.as_deref());
    let withdrawn = column!(|j| j.withdrawn);
    let entered_in_error = column!(|j| j.entered_in_error);
    let updated_seq = column!(|j| j.updated_seq);
    let set = COLUMNS
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let statement = format!(
        "INSERT INTO referrals (pseudonym, {columns})
         SELECT p, referred_on, referrer_org, link_worker_org,
                COALESCE(string_to_array(NULLIF(needs, ''), chr(31)), '{{}}'),
                age_band, routed, accepted, declined_reason, contact_attempts, could_not_contact,
                contacts, first_contact_on, plan_agreed, plan_reviews, connections_made,
                connections_accepted, connections_declined, connections_attended, connections,
                safeguarding_raised, swemwbs_baseline, swemwbs_latest,
                string_to_array(ons4_baseline, ',')::smallint[],
                string_to_array(ons4_latest, ',')::smallint[],
                ucla3_baseline, ucla3_latest, mycaw_baseline, mycaw_latest, closed_reason,
                withdrawn, entered_in_error, updated_seq
         FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::bool[], $8::bool[], $9::text[], $10::int4[], $11::bool[], $12::int4[],
                     $13::date[], $14::bool[], $15::int4[], $16::int4[], $17::int4[], $18::int4[],
                     $19::int4[], $20::text[], $21::int4[], $22::float8[], $23::float8[],
                     $24::text[], $25::text[], $26::int2[], $27::int2[], $28::float8[],
                     $29::float8[], $30::text[], $31::bool[], $32::bool[], $33::int8[])
           AS u(p, referred_on, referrer_org, link_worker_org, needs, age_band, routed, accepted,
                declined_reason, contact_attempts, could_not_contact, contacts, first_contact_on,
                plan_agreed, plan_reviews, connections_made, connections_accepted,
                connections_declined, connections_attended, connections, safeguarding_raised,
                swemwbs_baseline, swemwbs_latest, ons4_baseline, ons4_latest, ucla3_baseline,
                ucla3_latest, mycaw_baseline, mycaw_latest, closed_reason, withdrawn,
                entered_in_error, updated_seq)
         ON CONFLICT (pseudonym) DO UPDATE SET {set}",
        columns = COLUMNS.join(", ")
    );
    tx.execute(
        &statement,
        &[
            &pseudonym,
            &referred_on,
            &referrer_org,
            &link_worker_org,
            &needs,
            &age_band,
            &routed,
            &accepted,
            &declined_reason,
            &contact_attempts,
            &could_not_contact,
            &contacts,
            &first_contact_on,
            &plan_agreed,
            &plan_reviews,
            &connections_made,
            &connections_accepted,
            &connections_declined,
            &connections_attended,
            &connections,
            &safeguarding_raised,
            &swemwbs_baseline,
            &swemwbs_latest,
            &ons4_baseline,
            &ons4_latest,
            &ucla3_baseline,
            &ucla3_latest,
            &mycaw_baseline,
            &mycaw_latest,
            &closed_reason,
            &withdrawn,
            &entered_in_error,
            &updated_seq,
        ],
    )
    .await?;
    Ok(())
}

/// Moves the feed's change marks of the months and organisations these journeys are in.
/// The feed's cells (month, referring organisation, link-worker service; `""` for none)
/// and the last sequence that changed each.
type Marks = BTreeMap<(time::Date, String, String), i64>;

/// The cell a journey counts in, once it has a referral date.
fn cell(j: &Journey) -> Option<(time::Date, String, String)> {
    let on = j.referred_on?;
    Some((
        on.replace_day(1).expect("every month has a first day"),
        j.referrer_org.clone().unwrap_or_default(),
        j.link_worker_org.clone().unwrap_or_default(),
    ))
}

async fn write_changes(tx: &Transaction<'_>, marks: &Marks) -> Result<(), tokio_postgres::Error> {
    if marks.is_empty() {
        return Ok(());
    }
    let months: Vec<time::Date> = marks.keys().map(|k| k.0).collect();
    let referrers: Vec<&str> = marks.keys().map(|k| k.1.as_str()).collect();
    let services: Vec<&str> = marks.keys().map(|k| k.2.as_str()).collect();
    let seqs: Vec<i64> = marks.values().copied().collect();
    tx.execute(
        "INSERT INTO changes SELECT * FROM UNNEST($1::date[], $2::text[], $3::text[], $4::int8[])
         ON CONFLICT (month, referrer_org, link_worker_org)
         DO UPDATE SET updated_seq = GREATEST(changes.updated_seq, EXCLUDED.updated_seq)",
        &[&months, &referrers, &services, &seqs],
    )
    .await?;
    Ok(())
}
