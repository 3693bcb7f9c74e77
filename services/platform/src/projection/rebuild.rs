//! Rebuilds: a fresh schema filled from sequence 1, then swapped in, with the dead letters
//! the rebuild itself found: those of the old read model go with it, so an event a fixed
//! release now applies is no longer listed, and one it still cannot is listed anew.

use super::*;

/// Rebuilds a projection from sequence 1 into a fresh schema, then swaps it in. `progress`
/// is called with (applied up to, log end). Returns the checkpoint of the swapped-in model.
///
/// Safe while the live runner keeps going: the swap locks the live checkpoint row, catches
/// the fresh schema up to it, and only then replaces the live schema and its dead letters
/// (the rebuild parks under the fresh schema's name until then).
pub async fn rebuild<P: Projection>(
    projection: &P,
    db: &Database,
    store: &EventStore,
    settings: RunnerSettings,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<u64> {
    let fresh = format!("{}__rebuild", P::NAME);
    let target = Target {
        schema: fresh.clone(),
        checkpoint_row: fresh.clone(),
    };
    {
        let client = db.client().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {fresh} CASCADE"))
            .await?;
        // What an earlier rebuild that never swapped parked.
        client
            .execute(
                "DELETE FROM public.dead_letters WHERE projection = $1",
                &[&fresh],
            )
            .await?;
        create_tables::<P>(&client, &fresh).await?;
        client
            .execute(
                "INSERT INTO projection_checkpoints (projection, last_sequence, version) VALUES ($1, 0, $2) \
                 ON CONFLICT (projection) DO UPDATE SET last_sequence = 0, version = $2",
                &[&fresh, &P::VERSION],
            )
            .await?;
        // The live row must exist for the swap to lock it.
        ensure_checkpoint(&client, P::NAME, P::VERSION).await?;
    }
    let end = store.last_sequence().await?;
    let mut done = 0;
    progress(0, end);
    if end > 0 {
        let mut batches = prefetch(store.read_from(1).await?, settings, P::reads);
        while done < end {
            let batch = batches
                .recv()
                .await
                .ok_or_else(|| anyhow::anyhow!("the event log reader stopped"))?;
            done = apply_batch(projection, db, &target, &batch).await?;
            progress(done.min(end), end);
        }
        // Swap: lock the live checkpoint so the live runner waits, catch up to it, replace.
        let mut client = db.client().await?;
        let mut tx = client.transaction().await?;
        let live: i64 = tx
            .query_one(
                "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
                &[&P::NAME],
            )
            .await?
            .get(0);
        while done < live as u64 {
            let batch = batches
                .recv()
                .await
                .ok_or_else(|| anyhow::anyhow!("the event log reader stopped"))?;
            done = apply_in(projection, &mut tx, &target, &batch).await?;
        }
        swap::<P>(&tx, &fresh, done).await?;
        tx.commit().await?;
    } else {
        let mut client = db.client().await?;
        let tx = client.transaction().await?;
        tx.query_one(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            &[&P::NAME],
        )
        .await?;
        swap::<P>(&tx, &fresh, 0).await?;
        tx.commit().await?;
    }
    tracing::info!(
        projection = P::NAME,
        checkpoint = done,
        "projection rebuilt"
    );
    Ok(done)
}

pub(super) async fn swap<P: Projection>(
    tx: &Transaction<'_>,
    fresh: &str,
    checkpoint: u64,
) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {live} CASCADE; ALTER SCHEMA {fresh} RENAME TO {live};",
        live = P::NAME
    ))
    .await?;
    tx.execute(
        "UPDATE projection_checkpoints SET last_sequence = $2, version = $3, updated_at = now() WHERE projection = $1",
        &[&P::NAME, &(checkpoint as i64), &P::VERSION],
    )
    .await?;
    tx.execute(
        "DELETE FROM projection_checkpoints WHERE projection = $1",
        &[&fresh],
    )
    .await?;
    // The live runner parks nothing beyond its checkpoint, which the rebuild has reached.
    tx.execute(
        "DELETE FROM public.dead_letters WHERE projection = $1",
        &[&P::NAME],
    )
    .await?;
    tx.execute(
        "UPDATE public.dead_letters SET projection = $1 WHERE projection = $2",
        &[&P::NAME, &fresh],
    )
    .await?;
    Ok(())
}
