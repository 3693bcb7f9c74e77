//! Reporting's SQL for its HTTP answers, as typed functions: the journeys of one
//! commissioner area with their dimensions, the months changed since a feed cursor, and
//! where the projection stood, all read in one repeatable-read snapshot per answer.
//! Nothing here writes a read-model table: only [`crate::projection`] does.

use linkway_events::referral::SELF_REFERRAL_ORGANISATION;
use time::Date;

use crate::aggregate::Fact;
use crate::projection;

/// The journeys of area `$1` with their dimensions; `{columns}` is the journey's select list.
/// A self-referral (referrer `{self_referral}`, never a registered organisation) is its own
/// kind of referrer, `self_referral`; its area is the link-worker service's.
const FACTS_SQL: &str = "
    SELECT date_trunc('month', f.referred_on)::date,
           CASE WHEN f.referrer_org = '{self_referral}' THEN 'self_referral'
                ELSE COALESCE(ro.kind, 'unknown') END,
           COALESCE(f.link_worker_org, 'unrouted'), {columns}
    FROM reporting.referrals f
    LEFT JOIN reporting.organisations ro ON ro.organisation_id = f.referrer_org
    LEFT JOIN reporting.organisations lo ON lo.organisation_id = f.link_worker_org
    WHERE f.referred_on IS NOT NULL AND NOT f.entered_in_error
      AND COALESCE(ro.commissioner_area, lo.commissioner_area) = $1";

fn facts_sql(extra: &str) -> String {
    format!(
        "{} {extra}",
        FACTS_SQL
            .replace("{columns}", &projection::select_list("f"))
            .replace("{self_referral}", SELF_REFERRAL_ORGANISATION)
    )
}

fn to_fact(row: &tokio_postgres::Row) -> Fact {
    Fact {
        month: row.get(0),
        referrer_kind: row.get(1),
        service: row.get(2),
        journey: projection::read_journey(row, 3),
    }
}

async fn checkpoint_in(tx: &tokio_postgres::Transaction<'_>) -> Result<u64, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = 'reporting'",
            &[],
        )
        .await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}

/// A read-only, repeatable-read transaction: an answer's checkpoint and facts agree.
async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>, tokio_postgres::Error> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
}

/// What `getSummary` reads.
pub struct SummaryFacts {
    /// The stream sequence the facts include every event up to.
    pub sequence: u64,
    pub facts: Vec<Fact>,
}

/// What `getSummary` found: the facts, or that the read model still stands where it did.
pub enum SummaryRead {
    /// The checkpoint is the one the caller already has a summary for.
    Unchanged,
    Facts(SummaryFacts),
}

/// The journeys of `area` referred in the months `from` to `to` (either open), and where
/// the projection stood, in one snapshot; [`SummaryRead::Unchanged`] (without reading
/// the journeys) when the projection still stands at `unchanged_at`.
pub async fn summary_facts(
    client: &mut deadpool_postgres::Client,
    area: &str,
    from: Option<Date>,
    to: Option<Date>,
    unchanged_at: Option<u64>,
) -> Result<SummaryRead, tokio_postgres::Error> {
    let tx = snapshot(client).await?;
    let sequence = checkpoint_in(&tx).await?;
    if unchanged_at == Some(sequence) {
        tx.commit().await?;
        return Ok(SummaryRead::Unchanged);
    }
    let sql = facts_sql(
        "AND ($2::date IS NULL OR f.referred_on >= $2)
         AND ($3::date IS NULL OR date_trunc('month', f.referred_on)::date <= $3)",
    );
    let rows = tx.query(&sql, &[&area, &from, &to]).await?;
    tx.commit().await?;
    Ok(SummaryRead::Facts(SummaryFacts {
        sequence,
        facts: rows.iter().map(to_fact).collect(),
    }))
}

/// What `getOutcomeFeed` reads.
pub struct FeedFacts {
    /// Where the projection stood: the next cursor.
    pub next: u64,
    /// The months touched since the cursor, oldest first.
    pub months: Vec<Date>,
    /// The journeys of those months.
    pub facts: Vec<Fact>,
}

/// The months of `area` changed after `cursor` and their journeys, and where the
/// projection stood, in one snapshot.
pub async fn feed_facts(
    client: &mut deadpool_postgres::Client,
    area: &str,
    cursor: u64,
) -> Result<FeedFacts, tokio_postgres::Error> {
    let tx = snapshot(client).await?;
    let next = checkpoint_in(&tx).await?;
    // Months touched since the cursor, including by referrals now entered in error (their
    // month must be replaced without them).
    let months: Vec<Date> = tx
        .query(
            "SELECT c.month
             FROM reporting.changes c
             LEFT JOIN reporting.organisations ro ON ro.organisation_id = c.referrer_org
             LEFT JOIN reporting.organisations lo ON lo.organisation_id = c.link_worker_org
             WHERE c.updated_seq > $2
               AND COALESCE(ro.commissioner_area, lo.commissioner_area) = $1
             UNION
             SELECT month FROM reporting.area_marks WHERE area = $1 AND updated_seq > $2
             ORDER BY 1",
            &[&area, &(cursor as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rows = if months.is_empty() {
        Vec::new()
    } else {
        let sql = facts_sql("AND date_trunc('month', f.referred_on)::date = ANY($2)");
        tx.query(&sql, &[&area, &months]).await?
    };
    tx.commit().await?;
    Ok(FeedFacts {
        next,
        months,
        facts: rows.iter().map(to_fact).collect(),
    })
}
