//! DynamoDB on dynoxide, embedded in the runner's process and served over
//! HTTP on a loopback port, so every function talks to it through the real
//! AWS SDK exactly as it would talk to DynamoDB.

use crate::stream_table::StreamTable;
use crate::template::TableSpec;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use shop_domain::report::error_chain;
use std::path::Path;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Opens the database: in memory, or in a SQLite file kept between runs.
/// Either way the runner attaches its own connection to it
/// ([`StreamTable`]), so an in-memory database is a named, shared-cache one
/// that a second connection can reach.
pub fn open(file: Option<&Path>) -> anyhow::Result<(dynoxide::Database, StreamTable)> {
    let location = match file {
        None => format!("file:storefront-{}?mode=memory&cache=shared", ulid::Ulid::new()),
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!(format!("creating {}: {e}", dir.display())))?;
            }
            path.to_str()
                .ok_or_else(|| anyhow::anyhow!("the data path is not UTF-8"))?
                .to_owned()
        }
    };
    let db = dynoxide::Database::new(&location).map_err(|e| anyhow::anyhow!(format!("dynoxide at {location}: {e}")))?;
    let streams = StreamTable::attach(&location)?;
    Ok((db, streams))
}

/// Serves `db` on a free loopback port until `shutdown` turns true.
pub async fn serve(
    db: dynoxide::Database,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(String, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| anyhow::anyhow!(format!("binding dynoxide: {e}")))?;
    let endpoint = format!(
        "http://{}",
        listener.local_addr().map_err(|e| anyhow::anyhow!(e.to_string()))?
    );
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, stop).await {
            tracing::error!(error = %e, "dynoxide stopped");
        }
    });
    Ok((endpoint, task))
}

/// An SDK item as dynoxide's own type, for its bulk import.
pub fn to_dynoxide(item: &shop_store::Item) -> anyhow::Result<dynoxide::Item> {
    item.iter()
        .map(|(name, value)| Ok((name.clone(), to_dynoxide_value(value)?)))
        .collect()
}

fn to_dynoxide_value(value: &aws_sdk_dynamodb::types::AttributeValue) -> anyhow::Result<dynoxide::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue as Sdk;
    use dynoxide::AttributeValue as Dx;
    Ok(match value {
        Sdk::S(s) => Dx::S(s.clone()),
        Sdk::N(n) => Dx::N(n.clone()),
        Sdk::Bool(b) => Dx::BOOL(*b),
        Sdk::Null(b) => Dx::NULL(*b),
        Sdk::Ss(v) => Dx::SS(v.clone()),
        Sdk::Ns(v) => Dx::NS(v.clone()),
        Sdk::B(b) => Dx::B(b.clone().into_inner()),
        Sdk::L(items) => Dx::L(items.iter().map(to_dynoxide_value).collect::<anyhow::Result<_>>()?),
        Sdk::M(map) => Dx::M(to_dynoxide(map)?),
        other => anyhow::bail!("cannot import attribute value {other:?}"),
    })
}

/// Creates each table of the template that does not exist yet.
pub async fn ensure_tables(client: &Client, tables: &[TableSpec]) -> anyhow::Result<()> {
    let existing = client
        .list_tables()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("listing tables: {}", error_chain(&e)))?;
    for spec in tables {
        if existing.table_names().contains(&spec.logical_id) {
            add_missing_indexes(client, spec).await?;
            continue;
        }
        create_table(client, spec).await?;
        tracing::info!(table = %spec.logical_id, "created table from template.yaml");
    }
    Ok(())
}

fn key_schema(elements: &[crate::template::KeySchemaElement]) -> anyhow::Result<Vec<KeySchemaElement>> {
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| anyhow::anyhow!(e.to_string()))
        })
        .collect()
}

/// Adds the template's indexes a table kept from an older version lacks,
/// as a CloudFormation stack update would (dynoxide fills them from the
/// existing items).
async fn add_missing_indexes(client: &Client, spec: &TableSpec) -> anyhow::Result<()> {
    let described = client
        .describe_table()
        .table_name(&spec.logical_id)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("describing {}: {}", spec.logical_id, error_chain(&e)))?;
    let present: Vec<&str> = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    let definitions = attribute_definitions(spec)?;
    for index in global_indexes(spec)? {
        if present.contains(&index.index_name()) {
            continue;
        }
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.index_name())
            .set_key_schema(Some(index.key_schema().to_vec()))
            .set_projection(index.projection().cloned())
            .build()
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        client
            .update_table()
            .table_name(&spec.logical_id)
            .set_attribute_definitions(Some(definitions.clone()))
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "adding index {} to {}: {}",
                    index.index_name(),
                    spec.logical_id,
                    error_chain(&e)
                )
            })?;
        tracing::info!(table = %spec.logical_id, index = index.index_name(), "added an index from template.yaml");
    }
    Ok(())
}

fn attribute_definitions(spec: &TableSpec) -> anyhow::Result<Vec<AttributeDefinition>> {
    spec.attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| anyhow::anyhow!(e.to_string()))
        })
        .collect()
}

fn global_indexes(spec: &TableSpec) -> anyhow::Result<Vec<GlobalSecondaryIndex>> {
    spec.global_secondary_indexes
        .iter()
        .map(|g| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(g.projection.projection_type.as_str()))
                .set_non_key_attributes(
                    (!g.projection.non_key_attributes.is_empty()).then(|| g.projection.non_key_attributes.clone()),
                )
                .build();
            GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(key_schema(&g.key_schema)?))
                .projection(projection)
                .build()
                .map_err(|e| anyhow::anyhow!(e.to_string()))
        })
        .collect()
}

async fn create_table(client: &Client, spec: &TableSpec) -> anyhow::Result<()> {
    let definitions = attribute_definitions(spec)?;
    let indexes = global_indexes(spec)?;
    let mut request = client
        .create_table()
        .table_name(&spec.logical_id)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(&spec.key_schema)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes));
    if let Some(stream) = &spec.stream_specification {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()
                .map_err(|e| anyhow::anyhow!(e.to_string()))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(format!("creating {}: {}", spec.logical_id, error_chain(&e))))?;
    if let Some(ttl) = spec.time_to_live_specification.as_ref().filter(|t| t.enabled) {
        client
            .update_time_to_live()
            .table_name(&spec.logical_id)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(true)
                    .build()
                    .map_err(|e| anyhow::anyhow!(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(format!("enabling TTL on {}: {}", spec.logical_id, error_chain(&e))))?;
    }
    Ok(())
}
