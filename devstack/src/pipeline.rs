//! The local event source mappings: what Lambda does in AWS between the
//! table's stream, the queues and the workers, as template.yaml declares it.
//!
//! - A `DynamoDB` event: read the table's stream from dynoxide (its streams
//!   API, same port) from the oldest record (`TRIM_HORIZON`), hand batches to
//!   the worker as Lambda's stream event, resume from the failed record it
//!   reports, and after `MaximumRetryAttempts` send the batch's position to
//!   the `OnFailure` queue and go on.
//! - An `SQS` event: long-poll moto (20 s, as Lambda's pollers do), hand
//!   batches to the worker as Lambda's SQS event, delete what it applied and
//!   leave the failures to come back after the visibility timeout (moto
//!   moves a message to the dead-letter queue after `maxReceiveCount`
//!   receives, as SQS does).
//!
//! A stream is read as Lambda reads one: at most four times a second
//! (its base rate per shard), and at once again only while pages come back
//! full (a backlog). A stream found empty is read again after a write the
//! runner serves (see [`Writes`]), and otherwise less often the longer it
//! stays idle: an idle stack costs next to nothing, and a busy one hands
//! its workers batches rather than one record at a time.
//!
//! The queues live in moto's memory. When moto dies they are gone, so each
//! stream mapping keeps, besides its position, the last record whose
//! messages the queues no longer hold ([`Checkpoints`]); after moto comes
//! back the mappings replay the stream from there (`supervise`), and the
//! idempotent workers absorb what they see twice.

use crate::template::{QueueTrigger, StreamTrigger};
use anyhow::{Context, anyhow};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use futures::future::BoxFuture;
use shop_domain::report::error_chain;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A stream-triggered function as the runner calls it.
pub type StreamWorker = Arc<dyn Fn(StreamEvent) -> BoxFuture<'static, DynamoDbEventResponse> + Send + Sync>;
/// A queue-triggered function as the runner calls it.
pub type QueueWorker = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;

/// The least time between two reads of a stream whose last page was not
/// full: Lambda polls a DynamoDB stream's shard at a base rate of four
/// times a second. A stream that had nothing waits at least this long, the
/// pause doubling while it stays empty, up to [`STREAM_POLL_IDLE`]; a
/// write the runner serves ends the pause once this much has passed.
const STREAM_POLL: Duration = Duration::from_millis(250);
const STREAM_POLL_IDLE: Duration = Duration::from_secs(1);
/// SQS long polling: a receive waits this long for a message (the longest
/// SQS allows, as Lambda's pollers ask).
const QUEUE_WAIT_SECONDS: i32 = 20;

/// Tells the stream mappings that the runner has just served a write, so
/// that they read the stream now rather than at their next idle poll.
#[derive(Clone)]
pub struct Writes(Arc<watch::Sender<u64>>);

impl Default for Writes {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Writes {
    pub fn served(&self) {
        self.0.send_modify(|count| *count = count.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Each stream mapping's last delivered record, and the last one whose
/// messages are settled: consumed from every queue, so that losing the
/// queues loses nothing before it. `None` is the oldest record.
///
/// A rewind starts a new generation: what a mapping reports delivering in
/// an older one (a batch that was running when the queues were lost) is
/// not counted, so it cannot be taken as settled.
#[derive(Default)]
pub struct Checkpoints {
    marks: Mutex<BTreeMap<String, Marks>>,
    /// The generation, bumped by each rewind.
    rewinds: watch::Sender<u64>,
}

#[derive(Default, Clone, PartialEq, Eq)]
struct Marks {
    delivered: Option<String>,
    settled: Option<String>,
    /// Its last read of the stream found nothing new.
    caught_up: bool,
}

/// What each unsettled mapping had delivered when looked at.
pub type Delivered = BTreeMap<String, Option<String>>;

impl Checkpoints {
    fn delivered(&self, mapping: &str, generation: u64, sequence: Option<String>) {
        let mut marks = self.marks.lock().expect("checkpoints");
        if *self.rewinds.borrow() == generation {
            marks.entry(mapping.to_owned()).or_default().delivered = sequence;
        }
    }

    fn read(&self, mapping: &str, found_records: bool) {
        let mut marks = self.marks.lock().expect("checkpoints");
        marks.entry(mapping.to_owned()).or_default().caught_up = !found_records;
    }

    /// Whether every mapping's last read found nothing new.
    pub fn caught_up(&self) -> bool {
        let marks = self.marks.lock().expect("checkpoints");
        marks.values().all(|m| m.caught_up)
    }

    fn settled(&self, mapping: &str) -> Option<String> {
        let marks = self.marks.lock().expect("checkpoints");
        marks.get(mapping).and_then(|m| m.settled.clone())
    }

    /// The mappings that delivered records since they last settled.
    pub fn unsettled(&self) -> Delivered {
        let marks = self.marks.lock().expect("checkpoints");
        marks
            .iter()
            .filter(|(_, m)| m.delivered != m.settled)
            .map(|(mapping, m)| (mapping.clone(), m.delivered.clone()))
            .collect()
    }

    /// Marks what `unsettled` answered as settled: the queues were found
    /// empty after it was taken (and the supervisor, which alone rewinds,
    /// did not rewind in between).
    pub fn settle(&self, delivered: Delivered) {
        let mut marks = self.marks.lock().expect("checkpoints");
        for (mapping, sequence) in delivered {
            marks.entry(mapping).or_default().settled = sequence;
        }
    }

    /// Sends every mapping back to its settled record: the queues were lost.
    pub fn rewind(&self) {
        let mut marks = self.marks.lock().expect("checkpoints");
        for mark in marks.values_mut() {
            mark.delivered = mark.settled.clone();
        }
        self.rewinds.send_modify(|generation| *generation += 1);
    }
}

/// Sleeps, unless the stack shuts down first (then answers `false`).
async fn pause(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => true,
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}

/// Where a stream mapping reads and where it reports batches given up on.
pub struct StreamSource {
    /// The mapping's name (its function's logical id).
    pub mapping: String,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The table's local name.
    pub table: String,
    pub trigger: StreamTrigger,
    /// The `OnFailure` queue's client and URL.
    pub on_failure: Option<(aws_sdk_sqs::Client, String)>,
    /// The pause before a failed batch is retried.
    pub retry_delay: Duration,
    pub writes: Writes,
    pub checkpoints: Arc<Checkpoints>,
}

/// Why a mapping stopped reading.
enum Stopped {
    Shutdown,
    /// The queues were lost: read again from the settled record.
    Rewound,
}

/// Runs a stream mapping until shutdown.
pub fn run_stream(source: StreamSource, worker: StreamWorker, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The last record handled, so that a restart after an error goes on
        // from there rather than from the oldest record.
        let mut checkpoint = None;
        let mut rewinds = source.checkpoints.rewinds.subscribe();
        let mut generation = *rewinds.borrow_and_update();
        loop {
            let stopped = follow_stream(
                &source,
                &worker,
                &mut shutdown,
                &mut rewinds,
                generation,
                &mut checkpoint,
            )
            .await;
            match stopped {
                Ok(Stopped::Shutdown) => return,
                Ok(Stopped::Rewound) => {}
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), table = %source.table, "reading the table's stream failed; starting again");
                    if !pause(Duration::from_secs(1), &mut shutdown).await {
                        return;
                    }
                }
            }
            let current = *rewinds.borrow_and_update();
            if current != generation {
                generation = current;
                checkpoint = source.checkpoints.settled(&source.mapping);
                tracing::warn!(
                    mapping = %source.mapping,
                    after = checkpoint.as_deref().unwrap_or("the oldest record"),
                    "the queues were lost; replaying the table's stream from the last settled record"
                );
            }
        }
    })
}

async fn follow_stream(
    source: &StreamSource,
    worker: &StreamWorker,
    shutdown: &mut watch::Receiver<bool>,
    rewinds: &mut watch::Receiver<u64>,
    generation: u64,
    checkpoint: &mut Option<String>,
) -> anyhow::Result<Stopped> {
    let table = source
        .dynamodb
        .describe_table()
        .table_name(&source.table)
        .send()
        .await
        .map_err(|e| anyhow!("describing {}: {}", source.table, error_chain(&e)))?;
    let stream_arn = table
        .table()
        .and_then(|t| t.latest_stream_arn())
        .with_context(|| format!("{} has no stream", source.table))?
        .to_owned();
    let description = source
        .streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .map_err(|e| anyhow!("describing the stream: {}", error_chain(&e)))?;
    // dynoxide keeps one shard per table, open for as long as the table lives.
    let shard = description
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .context("the stream has no shard")?
        .to_owned();
    let iterator = |kind: ShardIteratorType, sequence: Option<String>| {
        let request = source
            .streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(&shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence);
        async move {
            request
                .send()
                .await
                .map_err(|e| anyhow!("getting a shard iterator: {}", error_chain(&e)))?
                .shard_iterator
                .context("no shard iterator")
        }
    };
    let mut position = match checkpoint.clone() {
        Some(sequence) => iterator(ShardIteratorType::AfterSequenceNumber, Some(sequence)).await?,
        None => iterator(ShardIteratorType::TrimHorizon, None).await?,
    };
    let mut attempts = 0u32;
    let mut writes = source.writes.subscribe();
    let mut idle = STREAM_POLL;
    loop {
        if *shutdown.borrow() {
            return Ok(Stopped::Shutdown);
        }
        if *rewinds.borrow() != generation {
            return Ok(Stopped::Rewound);
        }
        // A write served from here on is after this read: it wakes the next wait.
        writes.borrow_and_update();
        let read_at = tokio::time::Instant::now();
        let page = source
            .streams
            .get_records()
            .shard_iterator(&position)
            .limit(source.trigger.batch_size as i32)
            .send()
            .await
            .map_err(|e| anyhow!("reading stream records: {}", error_chain(&e)))?;
        let records = page.records();
        let next = page.next_shard_iterator().context("the shard was closed")?.to_owned();
        source.checkpoints.read(&source.mapping, !records.is_empty());
        if records.is_empty() {
            position = next;
            tokio::select! {
                woken = idle_wait(read_at, idle, &mut writes) => {
                    idle = if woken { STREAM_POLL } else { (idle * 2).min(STREAM_POLL_IDLE) };
                }
                _ = rewinds.changed() => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(Stopped::Shutdown),
            }
            continue;
        }
        idle = STREAM_POLL;
        // A full page means more are waiting: read on at once. Otherwise
        // the next read is a poll interval after this one.
        let next_read = (records.len() < source.trigger.batch_size).then_some(read_at + STREAM_POLL);
        let mut event = StreamEvent::default();
        event.records = records.iter().map(|r| lambda_record(r, &stream_arn)).collect();
        let last = event.records.last().and_then(|r| r.change.sequence_number.clone());
        let response = worker(event.clone()).await;
        let Some(failed) = response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.clone())
            .min()
        else {
            attempts = 0;
            position = next;
            *checkpoint = last;
            source
                .checkpoints
                .delivered(&source.mapping, generation, checkpoint.clone());
            if let Some(at) = next_read {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = rewinds.changed() => {}
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(Stopped::Shutdown),
                }
            }
            continue;
        };
        attempts += 1;
        if attempts > source.trigger.maximum_retry_attempts {
            give_up(source, &stream_arn, &shard, &failed, last.as_deref(), &event).await?;
            attempts = 0;
            position = iterator(ShardIteratorType::AfterSequenceNumber, last.clone()).await?;
            *checkpoint = last;
            source
                .checkpoints
                .delivered(&source.mapping, generation, checkpoint.clone());
            continue;
        }
        if !pause(source.retry_delay, shutdown).await {
            return Ok(Stopped::Shutdown);
        }
        position = iterator(ShardIteratorType::AtSequenceNumber, Some(failed)).await?;
    }
}

/// The wait after a read of `read_at` that found nothing: at least
/// [`STREAM_POLL`], then until a write is served (answers `true`) or
/// `idle` has passed.
async fn idle_wait(read_at: tokio::time::Instant, idle: Duration, writes: &mut watch::Receiver<u64>) -> bool {
    tokio::time::sleep_until(read_at + STREAM_POLL).await;
    tokio::select! {
        // A write already served counts as one, even once `idle` is over.
        biased;
        changed = writes.changed() => changed.is_ok(),
        _ = tokio::time::sleep_until(read_at + idle) => false,
    }
}

/// Tells the `OnFailure` queue which records were given up on, in the shape
/// Lambda sends (`DDBStreamBatchInfo`).
async fn give_up(
    source: &StreamSource,
    stream_arn: &str,
    shard: &str,
    first: &str,
    last: Option<&str>,
    event: &StreamEvent,
) -> anyhow::Result<()> {
    tracing::error!(first, ?last, "the relay gave up on stream records after its retries");
    let Some((sqs, queue_url)) = &source.on_failure else {
        return Ok(());
    };
    let skipped = event
        .records
        .iter()
        .filter(|r| r.change.sequence_number.as_deref() >= Some(first))
        .count();
    let body = serde_json::json!({
        "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": source.trigger.maximum_retry_attempts + 1 },
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "batchSize": skipped,
            "streamArn": stream_arn,
        }
    });
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body.to_string())
        .send()
        .await
        .map_err(|e| anyhow!("reporting a failed stream batch: {}", error_chain(&e)))?;
    Ok(())
}

/// A stream record as Lambda hands it to a function.
fn lambda_record(record: &Record, stream_arn: &str) -> EventRecord {
    let mut event = EventRecord::default();
    event.event_id = record.event_id().unwrap_or_default().to_owned();
    event.event_name = record.event_name().map(|n| n.as_str().to_owned()).unwrap_or_default();
    event.event_version = record.event_version().map(str::to_owned);
    event.event_source = record.event_source().map(str::to_owned);
    event.aws_region = record.aws_region().unwrap_or_default().to_owned();
    event.event_source_arn = Some(stream_arn.to_owned());
    if let Some(change) = record.dynamodb() {
        let image = |item: Option<&std::collections::HashMap<String, _>>| {
            serde_dynamo::Item::from(item.cloned().unwrap_or_default())
        };
        event.change.keys = image(change.keys());
        event.change.new_image = image(change.new_image());
        event.change.old_image = image(change.old_image());
        event.change.sequence_number = change.sequence_number().map(str::to_owned);
        event.change.size_bytes = change.size_bytes().unwrap_or_default();
    }
    event
}

/// Where a queue mapping reads.
pub struct QueueSource {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub trigger: QueueTrigger,
    /// How long a failed message stays invisible; `None` leaves it to the
    /// queue's visibility timeout, as Lambda does.
    pub retry_delay: Option<Duration>,
}

/// Runs a queue mapping until shutdown.
pub fn run_queue(source: QueueSource, worker: QueueWorker, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                received = receive(&source) => received,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let outcome = match received {
                Ok(event) if event.records.is_empty() => Ok(()),
                Ok(event) => deliver(&source, &worker, event).await,
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                tracing::warn!(error = %format!("{error:#}"), queue = %source.queue_url, "polling the queue failed");
                if !pause(Duration::from_secs(1), &mut shutdown).await {
                    return;
                }
            }
        }
    })
}

async fn receive(source: &QueueSource) -> anyhow::Result<SqsEvent> {
    let received = source
        .sqs
        .receive_message()
        .queue_url(&source.queue_url)
        .max_number_of_messages(source.trigger.batch_size.min(10) as i32)
        .wait_time_seconds(QUEUE_WAIT_SECONDS)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| anyhow!("receiving: {}", error_chain(&e)))?;
    let mut event = SqsEvent::default();
    event.records = received
        .messages()
        .iter()
        .map(|m| {
            let mut message = SqsMessage::default();
            message.message_id = m.message_id().map(str::to_owned);
            message.receipt_handle = m.receipt_handle().map(str::to_owned);
            message.body = m.body().map(str::to_owned);
            message.md5_of_body = m.md5_of_body().map(str::to_owned);
            message.attributes = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect();
            message.message_attributes = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.data_type = Some(value.data_type().to_owned());
                    attribute.string_value = value.string_value().map(str::to_owned);
                    (name.clone(), attribute)
                })
                .collect();
            message.event_source = Some("aws:sqs".into());
            message.event_source_arn = Some(source.queue_arn.clone());
            message
        })
        .collect();
    Ok(event)
}

async fn deliver(source: &QueueSource, worker: &QueueWorker, event: SqsEvent) -> anyhow::Result<()> {
    let response = worker(event.clone()).await;
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let (retry, done): (Vec<&SqsMessage>, Vec<&SqsMessage>) = event
        .records
        .iter()
        .partition(|m| failed.contains(m.message_id.as_deref().unwrap_or_default()));
    for chunk in done.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                    .build()
                    .expect("id and receipt handle are set")
            })
            .collect();
        source
            .sqs
            .delete_message_batch()
            .queue_url(&source.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| anyhow!("deleting applied messages: {}", error_chain(&e)))?;
    }
    if let Some(delay) = source.retry_delay {
        for message in retry {
            source
                .sqs
                .change_message_visibility()
                .queue_url(&source.queue_url)
                .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                .visibility_timeout(delay.as_secs() as i32)
                .send()
                .await
                .map_err(|e| anyhow!("scheduling a retry: {}", error_chain(&e)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    /// Writes served one after another as fast as dynoxide takes them reach
    /// the function in batches: the stream is read at most four times a
    /// second, and at once again only after a full page, never once per
    /// write (which the runner did before, so that every write's records
    /// travelled alone through the relay and the queues).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_writes_reaches_the_function_in_batches_at_lambdas_polling_rate() {
        const WRITES: usize = 300;
        const BATCH: usize = 100;
        let (stop, shutdown) = watch::channel(false);
        let (db, _stream_table) = crate::dynamo::open(None).unwrap();
        let (endpoint, server) = crate::dynamo::serve(db, shutdown.clone()).await.unwrap();
        let sdk = shop_store::aws::local_sdk_config();
        let dynamodb = shop_store::aws::dynamodb(&sdk, Some(&endpoint));
        let mut table: crate::template::TableSpec = serde_json::from_value(serde_json::json!({
            "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
            "StreamSpecification": { "StreamViewType": "NEW_AND_OLD_IMAGES" },
        }))
        .unwrap();
        table.logical_id = "Burst".into();
        crate::dynamo::ensure_tables(&dynamodb, &[table]).await.unwrap();
        let streams = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::config::Builder::from(&sdk)
                .endpoint_url(&endpoint)
                .build(),
        );
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&batches);
        let worker: StreamWorker = Arc::new(move |event: StreamEvent| {
            seen.lock().unwrap().push(event.records.len());
            Box::pin(async { DynamoDbEventResponse::default() })
        });
        let writes = Writes::default();
        let source = StreamSource {
            mapping: "Relay".into(),
            streams,
            dynamodb: dynamodb.clone(),
            table: "Burst".into(),
            trigger: StreamTrigger {
                table: "Burst".into(),
                batch_size: BATCH,
                maximum_retry_attempts: 0,
                on_failure: None,
            },
            on_failure: None,
            retry_delay: Duration::from_millis(10),
            writes: writes.clone(),
            checkpoints: Arc::new(Checkpoints::default()),
        };
        let mapping = run_stream(source, worker, shutdown);

        let started = std::time::Instant::now();
        for n in 0..WRITES {
            dynamodb
                .put_item()
                .table_name("Burst")
                .item("pk", AttributeValue::S(format!("item-{n}")))
                .send()
                .await
                .unwrap();
            writes.served();
        }
        let writing = started.elapsed();
        let delivered = || batches.lock().unwrap().iter().sum::<usize>();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while delivered() < WRITES && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let batches = batches.lock().unwrap().clone();
        assert_eq!(delivered(), WRITES, "every record is delivered, once: {batches:?}");
        // Four reads a second while writing (Lambda's rate, not the
        // constant's, so that a faster poll fails here), one per full page,
        // and the reads that pick up the rest after the last write.
        let polls = (writing.as_secs_f64() * 4.0).ceil() as usize;
        let most = polls + WRITES / BATCH + 2;
        eprintln!(
            "{WRITES} writes in {writing:?} reached the function in {} batches: {batches:?}",
            batches.len()
        );
        assert!(
            batches.len() <= most,
            "{} batches for {WRITES} writes in {writing:?}; at most {most} expected: {batches:?}",
            batches.len()
        );
        stop.send(true).unwrap();
        mapping.await.unwrap();
        server.await.unwrap();
    }

    fn seq(n: u32) -> Option<String> {
        Some(format!("{n:021}"))
    }

    #[test]
    fn only_records_found_drained_settle_and_a_rewind_forgets_what_its_generation_delivered_late() {
        let checkpoints = Checkpoints::default();
        assert!(
            checkpoints.unsettled().is_empty(),
            "nothing delivered, nothing to settle"
        );

        checkpoints.delivered("Relay", 0, seq(5));
        let look = checkpoints.unsettled();
        assert_eq!(look, Delivered::from([("Relay".to_owned(), seq(5))]));
        // Delivered after the look: not covered by the drained queues.
        checkpoints.delivered("Relay", 0, seq(9));
        checkpoints.settle(look);
        assert_eq!(checkpoints.settled("Relay"), seq(5));
        assert_eq!(checkpoints.unsettled(), Delivered::from([("Relay".to_owned(), seq(9))]));

        // The queues are lost: the mapping goes back to 5, and a batch of
        // the old generation finishing late cannot move it on.
        checkpoints.rewind();
        assert!(checkpoints.unsettled().is_empty());
        checkpoints.delivered("Relay", 0, seq(12));
        assert!(
            checkpoints.unsettled().is_empty(),
            "a late report of the lost generation"
        );
        assert_eq!(checkpoints.settled("Relay"), seq(5));
        checkpoints.delivered("Relay", 1, seq(7));
        assert_eq!(checkpoints.unsettled(), Delivered::from([("Relay".to_owned(), seq(7))]));
    }
}
