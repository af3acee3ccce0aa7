//! Reads template.yaml, the single source of truth for routes and resources:
//! the local stack creates its tables and queues and routes its requests from
//! the same definitions SAM deploys.

use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// The project's template, compiled in so the runner and its tests always
/// agree with the file next to them.
pub const TEMPLATE_YAML: &str = include_str!("../../template.yaml");

#[derive(Debug, thiserror::Error)]
#[error("template.yaml: {0}")]
pub struct TemplateError(String);

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

#[derive(Debug, Clone)]
pub struct Template {
    /// Each parameter's `Default` (what the runner gives `!Ref Parameter`).
    pub parameters: BTreeMap<String, String>,
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    pub functions: Vec<FunctionSpec>,
    /// WebSocket APIs (`AWS::ApiGatewayV2::Api` with `ProtocolType: WEBSOCKET`).
    pub websockets: Vec<WebSocketSpec>,
}

/// A WebSocket API: its routes and the function behind each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSpec {
    pub logical_id: String,
    /// Route key (`$connect`, `$disconnect`, `subscribe`, ...) → the
    /// function's logical id.
    pub routes: BTreeMap<String, String>,
}

/// The resource logical ids a `!Sub` string names (`${X}`, `${X.Attr}`).
fn sub_references(value: &Value) -> Vec<String> {
    let text = match value {
        Value::Tagged(tagged) if tagged.tag == "Sub" => tagged.value.as_str().unwrap_or_default(),
        _ => return Vec::new(),
    };
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .map(|name| name.split('.').next().unwrap_or(name).to_owned())
        .collect()
}

fn ref_of(value: Option<&Value>) -> Option<String> {
    match value.map(env_value) {
        Some(Ok(EnvValue::Ref(id))) => Some(id),
        _ => None,
    }
}

/// Reads the WebSocket APIs: each route's `Target` names an integration,
/// whose `IntegrationUri` names the function (`${Function.Arn}`).
fn websockets(resources: &serde_yaml_ng::Mapping) -> Vec<WebSocketSpec> {
    let of_type = |kind: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(id, r)| Some((id.as_str()?.to_owned(), r.get("Properties")?.clone())))
    };
    let integrations: BTreeMap<String, String> = of_type("AWS::ApiGatewayV2::Integration")
        .filter_map(|(id, props)| {
            Some((
                id,
                sub_references(props.get("IntegrationUri")?)
                    .into_iter()
                    .find(|r| !r.starts_with("AWS::"))?,
            ))
        })
        .collect();
    of_type("AWS::ApiGatewayV2::Api")
        .filter(|(_, props)| props.get("ProtocolType").and_then(Value::as_str) == Some("WEBSOCKET"))
        .map(|(api, _)| {
            let routes = of_type("AWS::ApiGatewayV2::Route")
                .filter(|(_, props)| ref_of(props.get("ApiId")).as_deref() == Some(api.as_str()))
                .filter_map(|(_, props)| {
                    let key = props.get("RouteKey")?.as_str()?.to_owned();
                    let integration = sub_references(props.get("Target")?).into_iter().next()?;
                    Some((key, integrations.get(&integration)?.clone()))
                })
                .collect();
            WebSocketSpec {
                logical_id: api,
                routes,
            }
        })
        .collect()
}

/// An `AWS::DynamoDB::Table`'s properties, in CloudFormation's own shape
/// (which is the DynamoDB API's).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    #[serde(skip)]
    pub logical_id: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub stream_specification: Option<StreamSpecification>,
    pub time_to_live_specification: Option<TimeToLiveSpecification>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub attribute_name: String,
    pub enabled: bool,
}

/// An `AWS::SQS::Queue`: its SQS attributes and dead-letter target.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub logical_id: String,
    /// SQS attributes as strings (`VisibilityTimeout`, `FifoQueue`, ...).
    pub attributes: BTreeMap<String, String>,
    /// The dead-letter queue's logical id and the receives before a message moves there.
    pub dead_letter: Option<(String, u32)>,
}

/// An environment variable's value before the local runner resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref X`: a table's name, a queue's URL or a parameter's value.
    Ref(String),
    /// `!GetAtt X.Attr`.
    GetAtt(String, String),
    /// `!Sub "..."`: AWS-only values (ARNs, execute-api URLs); the runner
    /// gives the function its local equivalent itself where it needs one.
    Sub(String),
    /// `!If [Condition, a, b]`: a choice between AWS resources (the search
    /// domain the stack creates or an existing one); like `Sub`, the runner
    /// provides its local equivalent itself.
    If(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: String,
    /// API Gateway path template, e.g. `/products/{productId}`.
    pub path: String,
    /// Whether the Cognito authorizer guards the route.
    pub authorized: bool,
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The workspace binary SAM builds (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub environment: BTreeMap<String, EnvValue>,
    pub routes: Vec<RouteSpec>,
    /// How often an EventBridge schedule (`rate(...)`) runs the function.
    pub schedule: Option<std::time::Duration>,
    /// An `SQS` event: the queue's logical id and the batch size.
    pub queue_trigger: Option<QueueTrigger>,
    /// A `DynamoDB` event: the table whose stream feeds the function.
    pub stream_trigger: Option<StreamTrigger>,
    /// `Timeout` (the function's, else `Globals`', else Lambda's 3 s).
    pub timeout: std::time::Duration,
    /// `MemorySize` in MB (the function's, else `Globals`', else 128).
    pub memory_mb: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTrigger {
    pub queue: String,
    pub batch_size: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTrigger {
    pub table: String,
    pub batch_size: usize,
    /// Retries of a failing batch before it is handed to `on_failure`.
    pub maximum_retry_attempts: u32,
    /// The queue (logical id) that hears of batches given up on.
    pub on_failure: Option<String>,
}

/// The resource named by `!GetAtt Resource.<attribute>`.
fn get_att_of(value: Option<&Value>, attribute: &str) -> Option<String> {
    match value.map(env_value) {
        Some(Ok(EnvValue::GetAtt(resource, attr))) if attr == attribute => Some(resource),
        _ => None,
    }
}

fn batch_size(props: &Value, default: usize) -> usize {
    props
        .get("BatchSize")
        .and_then(Value::as_u64)
        .map_or(default, |n| n as usize)
}

/// Reads `rate(1 minute)`, `rate(5 minutes)`, `rate(2 hours)`.
fn parse_rate(expression: &str) -> Result<std::time::Duration, TemplateError> {
    let bad = || {
        err(format!(
            "unsupported schedule {expression:?} (use rate(N minutes|hours))"
        ))
    };
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (count, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
    let count: u64 = count.parse().map_err(|_| bad())?;
    let seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return Err(bad()),
    };
    Ok(std::time::Duration::from_secs(count * seconds))
}

impl Template {
    pub fn project() -> Result<Self, TemplateError> {
        Self::parse(TEMPLATE_YAML)
    }

    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml_ng::from_str(yaml).map_err(|e| err(e.to_string()))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| err("no Resources"))?;
        let globals = doc.get("Globals").and_then(|g| g.get("Function"));
        let global_env = env_vars(globals)?;

        let parameters = doc
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(name, spec)| {
                let default = match spec.get("Default")? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((name.as_str()?.to_owned(), default))
            })
            .collect();
        let mut template = Template {
            parameters,
            tables: Vec::new(),
            queues: Vec::new(),
            functions: Vec::new(),
            websockets: websockets(resources),
        };
        let mut default_authorizers = BTreeMap::new();
        for (id, resource) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| err("a resource id is not a string"))?
                .to_owned();
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
            match kind {
                "AWS::DynamoDB::Table" => {
                    let mut table: TableSpec =
                        serde_yaml_ng::from_value(props).map_err(|e| err(format!("{id}: {e}")))?;
                    table.logical_id = id;
                    template.tables.push(table);
                }
                "AWS::SQS::Queue" => template.queues.push(queue(&id, &props)?),
                "AWS::Serverless::Api" => {
                    let default = props
                        .get("Auth")
                        .and_then(|a| a.get("DefaultAuthorizer"))
                        .and_then(Value::as_str);
                    default_authorizers.insert(id, default.is_some());
                }
                "AWS::Serverless::Function" => {
                    template
                        .functions
                        .push(function(&id, resource, &props, globals, &global_env)?);
                }
                _ => {}
            }
        }
        // A route is guarded when its API has a default authorizer the route
        // does not opt out of (`Auth: Authorizer: NONE`), or names one.
        for function in &mut template.functions {
            for route in &mut function.routes {
                route.authorized = route.authorized && default_authorizers.values().any(|d| *d);
            }
        }
        Ok(template)
    }
}

fn env_value(value: &Value) -> Result<EnvValue, TemplateError> {
    match value {
        Value::String(s) => Ok(EnvValue::Literal(s.clone())),
        Value::Number(n) => Ok(EnvValue::Literal(n.to_string())),
        Value::Bool(b) => Ok(EnvValue::Literal(b.to_string())),
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged
            .value
            .as_str()
            .map(|s| EnvValue::Ref(s.to_owned()))
            .ok_or_else(|| err("!Ref needs a name")),
        Value::Tagged(tagged) if tagged.tag == "Sub" => tagged
            .value
            .as_str()
            .map(|s| EnvValue::Sub(s.to_owned()))
            .ok_or_else(|| err("!Sub needs a string")),
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            let text = tagged
                .value
                .as_str()
                .ok_or_else(|| err("!GetAtt needs Resource.Attribute"))?;
            let (resource, attribute) = text
                .split_once('.')
                .ok_or_else(|| err(format!("!GetAtt {text}: no attribute")))?;
            Ok(EnvValue::GetAtt(resource.to_owned(), attribute.to_owned()))
        }
        Value::Tagged(tagged) if tagged.tag == "If" => tagged
            .value
            .as_sequence()
            .filter(|choice| choice.len() == 3)
            .and_then(|choice| choice[0].as_str())
            .map(|condition| EnvValue::If(condition.to_owned()))
            .ok_or_else(|| err("!If needs [Condition, value, value]")),
        other => Err(err(format!("unsupported environment value {other:?}"))),
    }
}

fn env_vars(function_props: Option<&Value>) -> Result<BTreeMap<String, EnvValue>, TemplateError> {
    let Some(vars) = function_props
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
    else {
        return Ok(BTreeMap::new());
    };
    vars.iter()
        .map(|(k, v)| {
            Ok((
                k.as_str().ok_or_else(|| err("variable name"))?.to_owned(),
                env_value(v)?,
            ))
        })
        .collect()
}

fn queue(id: &str, props: &Value) -> Result<QueueSpec, TemplateError> {
    let mut attributes = BTreeMap::new();
    let mut dead_letter = None;
    if let Some(map) = props.as_mapping() {
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            match (key, value) {
                ("RedrivePolicy", policy) => {
                    let target = match policy.get("deadLetterTargetArn").map(env_value).transpose()? {
                        Some(EnvValue::GetAtt(queue, attr)) if attr == "Arn" => queue,
                        other => {
                            return Err(err(format!(
                                "{id}: deadLetterTargetArn must be !GetAtt Queue.Arn, got {other:?}"
                            )));
                        }
                    };
                    let receives = policy
                        .get("maxReceiveCount")
                        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                        .ok_or_else(|| err(format!("{id}: maxReceiveCount")))?;
                    dead_letter = Some((target, receives as u32));
                }
                ("QueueName" | "Tags", _) => {}
                (_, Value::Number(n)) => {
                    attributes.insert(key.to_owned(), n.to_string());
                }
                (_, Value::Bool(b)) => {
                    attributes.insert(key.to_owned(), b.to_string());
                }
                (_, Value::String(s)) => {
                    attributes.insert(key.to_owned(), s.clone());
                }
                _ => return Err(err(format!("{id}: unsupported queue property {key}"))),
            }
        }
    }
    Ok(QueueSpec {
        logical_id: id.to_owned(),
        attributes,
        dead_letter,
    })
}

fn function(
    id: &str,
    resource: &Value,
    props: &Value,
    globals: Option<&Value>,
    global_env: &BTreeMap<String, EnvValue>,
) -> Result<FunctionSpec, TemplateError> {
    // A function's own setting, else the Globals' one.
    let setting = |name: &str| {
        props
            .get(name)
            .or_else(|| globals.and_then(|g| g.get(name)))
            .and_then(Value::as_u64)
    };
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| err(format!("{id}: Metadata.BuildProperties.Binary names no binary")))?
        .to_owned();
    let mut environment = global_env.clone();
    environment.extend(env_vars(Some(props))?);
    let mut routes = Vec::new();
    let mut schedule = None;
    let mut queue_trigger = None;
    let mut stream_trigger = None;
    if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
        for event in events.values() {
            let kind = event.get("Type").and_then(Value::as_str);
            let p = event.get("Properties").unwrap_or(&Value::Null);
            if kind == Some("SQS") {
                let queue = get_att_of(p.get("Queue"), "Arn")
                    .ok_or_else(|| err(format!("{id}: an SQS event's Queue must be !GetAtt Queue.Arn")))?;
                queue_trigger = Some(QueueTrigger {
                    queue,
                    batch_size: batch_size(p, 10),
                });
                continue;
            }
            if kind == Some("DynamoDB") {
                let table = get_att_of(p.get("Stream"), "StreamArn").ok_or_else(|| {
                    err(format!(
                        "{id}: a DynamoDB event's Stream must be !GetAtt Table.StreamArn"
                    ))
                })?;
                let on_failure = p
                    .get("DestinationConfig")
                    .and_then(|d| d.get("OnFailure"))
                    .and_then(|o| get_att_of(o.get("Destination"), "Arn"));
                stream_trigger = Some(StreamTrigger {
                    table,
                    batch_size: batch_size(p, 100),
                    maximum_retry_attempts: p
                        .get("MaximumRetryAttempts")
                        .and_then(Value::as_u64)
                        .map_or(u32::MAX, |n| n as u32),
                    on_failure,
                });
                continue;
            }
            if kind == Some("Schedule") {
                let rate = event
                    .get("Properties")
                    .and_then(|p| p.get("Schedule"))
                    .and_then(Value::as_str);
                schedule = Some(parse_rate(
                    rate.ok_or_else(|| err(format!("{id}: Schedule without a rate")))?,
                )?);
                continue;
            }
            if kind != Some("Api") {
                continue;
            }
            let p = event
                .get("Properties")
                .ok_or_else(|| err(format!("{id}: Api event without Properties")))?;
            let field = |name: &str| {
                p.get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| err(format!("{id}: Api event without {name}")))
            };
            let authorizer = p.get("Auth").and_then(|a| a.get("Authorizer")).and_then(Value::as_str);
            routes.push(RouteSpec {
                method: field("Method")?.to_ascii_uppercase(),
                path: field("Path")?,
                authorized: authorizer != Some("NONE"),
            });
        }
    }
    Ok(FunctionSpec {
        logical_id: id.to_owned(),
        binary,
        environment,
        routes,
        schedule,
        queue_trigger,
        stream_trigger,
        timeout: std::time::Duration::from_secs(setting("Timeout").unwrap_or(3)),
        memory_mb: setting("MemorySize").map_or(128, |mb| mb as u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_project_template_describes_the_table_queues_and_routes() {
        let t = Template::project().unwrap();
        let table = t.tables.iter().find(|t| t.logical_id == "ShopTable").unwrap();
        assert_eq!(table.key_schema.len(), 2);
        assert!(
            table
                .global_secondary_indexes
                .iter()
                .any(|g| g.index_name == "ByCategoryPrice")
        );
        assert_eq!(
            table.time_to_live_specification.as_ref().unwrap().attribute_name,
            "expiresAt"
        );

        let queue = t.queues.iter().find(|q| q.logical_id == "SearchIndexQueue").unwrap();
        assert_eq!(queue.dead_letter, Some(("SearchIndexDeadLetterQueue".into(), 5)));
        assert_eq!(queue.attributes["VisibilityTimeout"], "60");

        let get_product = t.functions.iter().find(|f| f.binary == "get-product").unwrap();
        assert_eq!(
            get_product.routes,
            [RouteSpec {
                method: "GET".into(),
                path: "/products/{productId}".into(),
                authorized: false
            }]
        );
        assert_eq!(get_product.environment["TABLE_NAME"], EnvValue::Ref("ShopTable".into()));
        let put_stock = t.functions.iter().find(|f| f.binary == "put-stock").unwrap();
        assert!(put_stock.routes[0].authorized);
        assert_eq!(get_product.timeout, std::time::Duration::from_secs(10));
        assert_eq!(get_product.memory_mb, 256);
        let sweeper = t.functions.iter().find(|f| f.binary == "sweep-reservations").unwrap();
        assert_eq!(sweeper.schedule, Some(std::time::Duration::from_secs(60)));

        let relay = t.functions.iter().find(|f| f.binary == "relay-events").unwrap();
        assert_eq!(
            relay.stream_trigger,
            Some(StreamTrigger {
                table: "ShopTable".into(),
                batch_size: 100,
                maximum_retry_attempts: 10,
                on_failure: Some("RelayDeadLetterQueue".into()),
            })
        );
        let live = &t.websockets[0];
        assert_eq!(live.logical_id, "LiveApi");
        assert_eq!(
            live.routes.keys().collect::<Vec<_>>(),
            ["$connect", "$disconnect", "subscribe"]
        );
        assert!(live.routes.values().all(|f| f == "LiveSocketFunction"));
        let updater = t.functions.iter().find(|f| f.binary == "update-search-index").unwrap();
        assert_eq!(
            updater.queue_trigger,
            Some(QueueTrigger {
                queue: "SearchIndexQueue".into(),
                batch_size: 10
            })
        );
    }

    /// Every function has its errors and throttles alarms (the template's
    /// `Fn::ForEach::FunctionAlarms` loop names them), and every alarm has a
    /// row in the operations runbook.
    #[test]
    fn every_function_is_alarmed_and_every_alarm_is_documented() {
        let t = Template::project().unwrap();
        let doc: Value = serde_yaml_ng::from_str(TEMPLATE_YAML).unwrap();
        let resources = doc["Resources"].as_mapping().unwrap();
        let looped: BTreeSet<String> = resources["Fn::ForEach::FunctionAlarms"][1]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|name| format!("{}Function", name.as_str().unwrap()))
            .collect();
        let functions: BTreeSet<String> = t.functions.iter().map(|f| f.logical_id.clone()).collect();
        assert_eq!(looped, functions, "the alarm loop must name every function");

        let runbook = include_str!("../../docs/operations.md");
        for (id, resource) in resources {
            if resource.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm") {
                let id = id.as_str().unwrap();
                assert!(
                    runbook.contains(&format!("`{id}`")),
                    "{id} is not in docs/operations.md"
                );
            }
        }
        for pattern in ["`<Function>ErrorsAlarm`", "`<Function>ThrottlesAlarm`"] {
            assert!(runbook.contains(pattern), "{pattern} is not in docs/operations.md");
        }
        // The other loops' alarms are named one by one.
        for (id, _) in alarms(resources) {
            if !id.ends_with("ErrorsAlarm") && !id.ends_with("ThrottlesAlarm") {
                assert!(
                    runbook.contains(&format!("`{id}`")),
                    "{id} is not in docs/operations.md"
                );
            }
        }
    }

    /// Every alarm of the template: its resources of that type, and those
    /// each `Fn::ForEach` loop makes, expanded as the `AWS::LanguageExtensions`
    /// transform does (the loop's `${Identifier}` replaced by each name).
    fn alarms(resources: &serde_yaml_ng::Mapping) -> BTreeMap<String, Value> {
        let is_alarm = |r: &Value| r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm");
        let mut alarms = BTreeMap::new();
        for (key, resource) in resources {
            let key = key.as_str().unwrap();
            if !key.starts_with("Fn::ForEach::") {
                if is_alarm(resource) {
                    alarms.insert(key.to_owned(), resource.clone());
                }
                continue;
            }
            let identifier = format!("${{{}}}", resource[0].as_str().unwrap());
            for name in resource[1].as_sequence().unwrap() {
                let name = name.as_str().unwrap();
                for (id, body) in resource[2].as_mapping().unwrap() {
                    let yaml = serde_yaml_ng::to_string(body).unwrap().replace(&identifier, name);
                    let body: Value = serde_yaml_ng::from_str(&yaml).unwrap();
                    if is_alarm(&body) {
                        alarms.insert(id.as_str().unwrap().replace(&identifier, name), body);
                    }
                }
            }
        }
        alarms
    }

    /// The queue an SQS alarm watches: its `QueueName` dimension,
    /// `!GetAtt Queue.QueueName` or, in a loop, `!GetAtt [!Sub "Queue", QueueName]`.
    fn watched_queue(alarm: &Value) -> Option<String> {
        let dimension = alarm["Properties"]["Dimensions"]
            .as_sequence()?
            .iter()
            .find(|d| d["Name"].as_str() == Some("QueueName"))?;
        let Value::Tagged(get_att) = &dimension["Value"] else {
            return None;
        };
        if get_att.tag != "GetAtt" {
            return None;
        }
        match &get_att.value {
            Value::String(text) => text.strip_suffix(".QueueName").map(str::to_owned),
            Value::Sequence(parts) => match parts.as_slice() {
                [Value::Tagged(sub), attribute] if sub.tag == "Sub" && attribute.as_str() == Some("QueueName") => {
                    sub.value.as_str().map(str::to_owned)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Every queue and dead-letter queue has one age alarm and one depth
    /// alarm, and a dead letter's age alarm fires while it can still be
    /// redriven: within half the dead-letter queue's retention, and before a
    /// standard queue's dead letter expires (SQS expires it by the time it
    /// was first sent to the source queue, which the age metric does not
    /// count). The relay's dead letters point at stream records, which the
    /// table's stream keeps 24 hours.
    #[test]
    fn every_queue_is_alarmed_on_age_and_depth_before_its_messages_are_lost() {
        let t = Template::project().unwrap();
        let doc: Value = serde_yaml_ng::from_str(TEMPLATE_YAML).unwrap();
        let alarms = alarms(doc["Resources"].as_mapping().unwrap());
        let retention = |queue: &QueueSpec| queue.attributes["MessageRetentionPeriod"].parse::<f64>().unwrap();
        let stream_dead_letters: BTreeSet<String> = t
            .functions
            .iter()
            .filter_map(|f| f.stream_trigger.as_ref()?.on_failure.clone())
            .collect();
        for queue in &t.queues {
            let watching = |metric: &str| -> Vec<(&String, &Value)> {
                alarms
                    .iter()
                    .filter(|(_, alarm)| alarm["Properties"]["MetricName"].as_str() == Some(metric))
                    .filter(|(_, alarm)| watched_queue(alarm).as_deref() == Some(queue.logical_id.as_str()))
                    .collect()
            };
            let ages = watching("ApproximateAgeOfOldestMessage");
            let depths = watching("ApproximateNumberOfMessagesVisible");
            assert_eq!(ages.len(), 1, "{} needs one age alarm: {ages:?}", queue.logical_id);
            assert_eq!(
                depths.len(),
                1,
                "{} needs one depth alarm: {depths:?}",
                queue.logical_id
            );

            let sources: Vec<&QueueSpec> = t
                .queues
                .iter()
                .filter(|q| q.dead_letter.as_ref().map(|(dlq, _)| dlq) == Some(&queue.logical_id))
                .collect();
            let from_stream = stream_dead_letters.contains(&queue.logical_id);
            if sources.is_empty() && !from_stream {
                continue;
            }
            let (id, alarm) = ages[0];
            let threshold = alarm["Properties"]["Threshold"].as_f64().unwrap();
            let kept = retention(queue);
            assert!(
                threshold <= kept / 2.0,
                "{id}: {threshold} s is more than half of {kept} s"
            );
            let fifo = queue.attributes.get("FifoQueue").map(String::as_str) == Some("true");
            for source in sources {
                let spent = if fifo { 0.0 } else { retention(source) };
                assert!(
                    threshold + spent < kept,
                    "{id}: a dead letter that spent {spent} s in {} expires before {threshold} s in {}",
                    source.logical_id,
                    queue.logical_id
                );
            }
            if from_stream {
                assert!(threshold <= 86_400.0 / 2.0, "{id}: the stream keeps records 24 hours");
            }
        }
    }

    #[test]
    fn schedule_rates_are_read_in_minutes_hours_and_days() {
        assert_eq!(parse_rate("rate(1 minute)").unwrap().as_secs(), 60);
        assert_eq!(parse_rate("rate(5 minutes)").unwrap().as_secs(), 300);
        assert_eq!(parse_rate("rate(2 hours)").unwrap().as_secs(), 7200);
        assert!(parse_rate("cron(0 12 * * ? *)").is_err());
    }
}
