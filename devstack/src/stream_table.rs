//! dynoxide's stream table, kept as DynamoDB keeps a stream.
//!
//! dynoxide stores every table's stream in one SQLite table,
//! `_stream_records`, with no index and no end. Each write to a table with a
//! stream asks for the stream's last sequence number
//! (`SELECT MAX(CAST(sequence_number AS INTEGER)) … WHERE table_name = ?`),
//! and each `GetRecords` selects the records after one: both full scans, so
//! a write slowed down with every write the stack had ever taken. DynamoDB
//! keeps a stream's records for 24 hours.
//!
//! dynoxide's API has no way to its SQLite connection, so the runner opens
//! a second connection to the same database: it adds the index both lookups
//! need, and trims records past the retention period, oldest first, in
//! small batches. The upstream fix is `docs/dynoxide-streams.md`.

use anyhow::Context;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long DynamoDB keeps a stream record.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// How often the runner looks for records past retention (a cheap look at
/// the oldest record when there are none).
pub const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Records deleted per statement, so that dynoxide's writers never wait
/// long behind a trim.
const TRIM_BATCH: i64 = 1_000;

/// The index that turns both lookups into a seek. Each table's stream has
/// one shard in dynoxide, so the table name and the sequence number are
/// enough.
const INDEX: &str = "CREATE INDEX IF NOT EXISTS storefront_stream_records_sequence \
                     ON _stream_records (table_name, CAST(sequence_number AS INTEGER))";

/// The runner's own connection to dynoxide's database.
pub struct StreamTable {
    conn: Mutex<rusqlite::Connection>,
}

impl StreamTable {
    /// Opens `location` (the path or URI dynoxide opened) and indexes its
    /// stream table. Call it before dynoxide serves anything.
    pub fn attach(location: &str) -> anyhow::Result<Self> {
        let conn =
            rusqlite::Connection::open(location).with_context(|| format!("opening {location} for its stream table"))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // In a shared-cache (in-memory) database, reading without table
        // read-locks: the oldest record's age must never make one of
        // dynoxide's writes fail with SQLITE_LOCKED.
        conn.pragma_update(None, "read_uncommitted", true)?;
        conn.execute_batch(INDEX).context("indexing dynoxide's stream table")?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    /// Deletes the records older than [`RETENTION`] at `now` (Unix
    /// seconds, dynoxide's `created_at`); answers how many.
    pub fn trim(&self, now: i64) -> anyhow::Result<usize> {
        let cutoff = now - RETENTION.as_secs() as i64;
        let conn = self
            .conn
            .lock()
            .expect("the stream table's connection is never poisoned");
        let oldest: Option<i64> = conn
            .query_row("SELECT created_at FROM _stream_records ORDER BY id LIMIT 1", [], |r| {
                r.get(0)
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        if oldest.is_none_or(|oldest| oldest >= cutoff) {
            return Ok(0);
        }
        // Ids grow with time: each batch is the oldest records, found by
        // the primary key rather than by scanning for old ones.
        let mut trimmed = 0;
        loop {
            let deleted = conn.execute(
                "DELETE FROM _stream_records WHERE created_at < ?1 AND id <= \
                 (SELECT MAX(id) FROM (SELECT id FROM _stream_records ORDER BY id LIMIT ?2))",
                rusqlite::params![cutoff, TRIM_BATCH],
            )?;
            trimmed += deleted;
            if deleted == 0 {
                return Ok(trimmed);
            }
        }
    }

    /// How many records the stream table holds.
    pub fn len(&self) -> anyhow::Result<u64> {
        let conn = self
            .conn
            .lock()
            .expect("the stream table's connection is never poisoned");
        Ok(conn.query_row("SELECT COUNT(*) FROM _stream_records", [], |r| r.get(0))?)
    }

    /// Whether the stream table holds no record.
    pub fn is_empty(&self) -> anyhow::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Trims `table` every [`TRIM_EVERY`] until `shutdown` turns true, and says
/// so when it removed something.
pub fn run_trimmer(table: Arc<StreamTable>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(TRIM_EVERY) => {}
            }
            let table = Arc::clone(&table);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            match tokio::task::spawn_blocking(move || table.trim(now)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(trimmed)) => {
                    tracing::info!(trimmed, "removed stream records older than 24 hours, as DynamoDB does")
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %format!("{e:#}"), "trimming the stream table failed; trying again later")
                }
                Err(e) => tracing::warn!(error = %e, "the stream table's trim stopped"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_old_and_fresh(location: &str, now: i64) -> (dynoxide::Database, StreamTable) {
        let db = dynoxide::Database::new(location).unwrap();
        let table = StreamTable::attach(location).unwrap();
        {
            let conn = table.conn.lock().unwrap();
            for n in 0..2_500_i64 {
                let created_at = if n < 2_100 { now - 90_000 } else { now - 60 };
                conn.execute(
                    "INSERT INTO _stream_records (table_name, event_name, keys_json, sequence_number, shard_id, created_at) \
                     VALUES ('T', 'INSERT', '{}', ?1, 's', ?2)",
                    rusqlite::params![(n + 1).to_string(), created_at],
                )
                .unwrap();
            }
        }
        (db, table)
    }

    #[test]
    fn records_older_than_a_day_are_trimmed_and_the_rest_kept() {
        let now = 1_800_000_000;
        let location = format!("file:stream-table-{}?mode=memory&cache=shared", ulid::Ulid::new());
        let (_db, table) = day_old_and_fresh(&location, now);

        assert_eq!(table.trim(now).unwrap(), 2_100);
        assert_eq!(table.len().unwrap(), 400);
        assert_eq!(table.trim(now).unwrap(), 0, "nothing left to trim");
    }

    #[test]
    fn the_sequence_lookups_use_the_index() {
        let location = format!("file:stream-table-{}?mode=memory&cache=shared", ulid::Ulid::new());
        let (_db, table) = day_old_and_fresh(&location, 1_800_000_000);
        let conn = table.conn.lock().unwrap();
        for lookup in [
            "SELECT COALESCE(MAX(CAST(sequence_number AS INTEGER)), 0) + 1 FROM _stream_records WHERE table_name = 'T'",
            "SELECT event_name FROM _stream_records WHERE table_name = 'T' AND shard_id = 's' \
             AND CAST(sequence_number AS INTEGER) > 5 ORDER BY CAST(sequence_number AS INTEGER) ASC LIMIT 100",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {lookup}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains("storefront_stream_records_sequence"), "{lookup}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{lookup} sorts: {plan}");
        }
    }
}
