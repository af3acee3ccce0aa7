//! Metering: what each rehearsed function asks of DynamoDB, SQS and the
//! search engine, as AWS would bill it (`bench cost`).
//!
//! Every rehearsed function's DynamoDB and SQS calls pass the IAM proxy
//! ([`crate::iam`]), signed with the function's name; with metering on, the
//! proxy asks dynoxide for `ReturnConsumedCapacity: TOTAL` on each DynamoDB
//! call (dynoxide computes it as DynamoDB does: 4 KB read units, 1 KB write
//! units, double for transactions, index writes included), adds the units
//! to the caller's account, and hands the caller the answer it asked for.
//! The search functions reach OpenSearch through `/as/<function>/` on the
//! same proxy, which counts their queries and the documents they write.
//! Lambda's share (invocations, time, memory) is the rehearsal's own
//! ([`crate::rehearsal::Stats`]).

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One function's use of the services it pays for.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub dynamodb_requests: u64,
    /// Read capacity units (as on-demand read request units).
    pub read_units: f64,
    /// Write capacity units (as on-demand write request units).
    pub write_units: f64,
    /// SQS API requests (a batch of up to ten messages is one).
    pub sqs_requests: u64,
    /// Messages sent.
    pub sqs_messages: u64,
    /// `_search` requests.
    pub search_queries: u64,
    /// Documents indexed or deleted (each action of a `_bulk`).
    pub search_writes: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.dynamodb_requests += other.dynamodb_requests;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.sqs_requests += other.sqs_requests;
        self.sqs_messages += other.sqs_messages;
        self.search_queries += other.search_queries;
        self.search_writes += other.search_writes;
    }
}

/// The usage of every function that called, by logical id.
#[derive(Debug, Default)]
pub struct Meter {
    usage: Mutex<BTreeMap<String, Usage>>,
}

impl Meter {
    pub fn record(&self, function: &str, change: impl FnOnce(&mut Usage)) {
        let mut usage = self.usage.lock().expect("meter lock");
        change(usage.entry(function.to_owned()).or_default());
    }

    /// What was used since the start, or since the last [`Meter::take`].
    pub fn usage(&self) -> BTreeMap<String, Usage> {
        self.usage.lock().expect("meter lock").clone()
    }

    /// What was used so far, starting the count again.
    pub fn take(&self) -> BTreeMap<String, Usage> {
        std::mem::take(&mut *self.usage.lock().expect("meter lock"))
    }
}

/// `usage` as a table, one function a row.
pub fn summary(usage: &BTreeMap<String, Usage>) -> String {
    let mut out = String::from(
        "function                          DynamoDB calls      RCU      WCU  SQS calls  messages  searches  index writes\n",
    );
    for (function, u) in usage {
        out.push_str(&format!(
            "{function:<32} {:>15} {:>8.1} {:>8.1} {:>10} {:>9} {:>9} {:>13}\n",
            u.dynamodb_requests,
            u.read_units,
            u.write_units,
            u.sqs_requests,
            u.sqs_messages,
            u.search_queries,
            u.search_writes
        ));
    }
    out
}

/// The read and write units a DynamoDB answer's `ConsumedCapacity` reports
/// (one object, or a list for batches and transactions). Where an entry
/// does not split them, the operation says which they are.
pub fn consumed_units(operation: &str, answer: &Value) -> (f64, f64) {
    let reads = matches!(
        operation,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems"
    );
    let entries = match &answer["ConsumedCapacity"] {
        Value::Array(entries) => entries.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    entries.into_iter().fold((0.0, 0.0), |(read, write), entry| {
        let units = |field: &str| entry[field].as_f64();
        match (units("ReadCapacityUnits"), units("WriteCapacityUnits")) {
            (None, None) => {
                let total = units("CapacityUnits").unwrap_or(0.0);
                if reads {
                    (read + total, write)
                } else {
                    (read, write + total)
                }
            }
            (r, w) => (read + r.unwrap_or(0.0), write + w.unwrap_or(0.0)),
        }
    })
}

/// Messages an SQS request sends.
pub fn messages_sent(operation: &str, request: &Value) -> u64 {
    match operation {
        "SendMessage" => 1,
        "SendMessageBatch" => request["Entries"].as_array().map_or(0, |e| e.len() as u64),
        _ => 0,
    }
}

/// What an OpenSearch request costs the engine: a query, or the documents
/// a `_bulk` (one action line, then a document line unless it deletes) or
/// a single-document call writes.
pub fn search_work(method: &str, path: &str, body: &[u8]) -> (u64, u64) {
    let last = path.rsplit('/').next().unwrap_or_default();
    if last == "_search" || last == "_msearch" || last == "_count" {
        return (1, 0);
    }
    if last == "_bulk" {
        let actions = body
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
            .filter(|line| {
                line.as_object().is_some_and(|o| {
                    o.len() == 1
                        && ["index", "create", "update", "delete"]
                            .iter()
                            .any(|a| o.contains_key(*a))
                })
            })
            .count();
        return (0, actions as u64);
    }
    if path.contains("/_doc/") && matches!(method, "PUT" | "POST" | "DELETE") {
        return (0, 1);
    }
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_come_from_the_split_fields_or_from_the_operation() {
        let get = json!({ "ConsumedCapacity": { "TableName": "t", "CapacityUnits": 0.5 } });
        assert_eq!(consumed_units("GetItem", &get), (0.5, 0.0));
        let put = json!({ "ConsumedCapacity": { "TableName": "t", "CapacityUnits": 3.0 } });
        assert_eq!(consumed_units("PutItem", &put), (0.0, 3.0));
        let transaction = json!({ "ConsumedCapacity": [
            { "TableName": "a", "CapacityUnits": 4.0 },
            { "TableName": "b", "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0 },
        ] });
        assert_eq!(consumed_units("TransactWriteItems", &transaction), (0.0, 6.0));
        assert_eq!(consumed_units("Query", &json!({})), (0.0, 0.0));
    }

    #[test]
    fn a_batch_counts_its_entries_and_bulk_its_actions() {
        assert_eq!(
            messages_sent("SendMessageBatch", &json!({ "Entries": [{}, {}, {}] })),
            3
        );
        assert_eq!(messages_sent("ReceiveMessage", &json!({})), 0);
        let bulk = b"{\"index\":{\"_id\":\"P1\"}}\n{\"title\":\"a\",\"delete\":1}\n{\"delete\":{\"_id\":\"P2\"}}\n";
        assert_eq!(search_work("POST", "/products/_bulk", bulk), (0, 2));
        assert_eq!(search_work("POST", "/products/_search", b"{}"), (1, 0));
        assert_eq!(search_work("PUT", "/products", b"{}"), (0, 0));
    }
}
