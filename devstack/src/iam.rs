//! IAM from template.yaml, enforced on the Lambda rehearsal's AWS calls.
//!
//! Each rehearsed function signs its calls with an access key that is its
//! logical id ([`crate::Wiring`] gives it that). Its DynamoDB and SQS
//! endpoints are this proxy, which reads the signed principal from the
//! `Authorization` header's credential scope, the action from
//! `X-Amz-Target` and the resources from the body (tables and indexes,
//! every item of a batch or transaction, queues), and evaluates them
//! against the policies SAM would give that function's execution role
//! (`scripts/sam-policies`: the SAM translator from the pinned SAM CLI).
//! An allowed call goes on to dynoxide or moto unchanged; a denied one gets
//! the `AccessDeniedException` AWS would send, naming the role, the action
//! and the resource.
//!
//! What is evaluated: `Allow` and `Deny` statements, `Action`/`NotAction`
//! and `Resource` with IAM's `*` and `?` wildcards, and the condition key
//! `dynamodb:LeadingKeys` (with `StringLike`/`StringEquals`, alone or under
//! `ForAllValues`/`ForAnyValue`). A policy using anything else fails the
//! start, rather than being evaluated wrongly. Signatures are not checked:
//! every rehearsed function shares one secret, and the question here is
//! what a role may do, not who is calling.

use anyhow::{Context, anyhow, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wildmatch::WildMatch;

use crate::meter::Meter;

/// The account the emulators put in their ARNs (moto's default).
pub const ACCOUNT: &str = "123456789012";

/// The policies SAM gives each function's execution role, as its
/// translator writes them: intrinsics that only a stack can resolve (the
/// table's name, a queue's ARN) are still in them.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TemplatePolicies(pub BTreeMap<String, TemplateRole>);

/// One function's execution role, by the translator.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TemplateRole {
    /// The role's logical id (`<Function>Role`).
    pub role: String,
    /// Its inline policies, in order.
    pub policies: Vec<InlinePolicy>,
    /// The AWS managed policies attached to it.
    pub managed: Vec<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Value,
}

impl TemplatePolicies {
    /// Translates `template.yaml` with the SAM CLI in the project's `.venv`
    /// (`scripts/python-tools` installs it; the rehearsal's build runs that).
    pub async fn translate(project_root: &Path) -> anyhow::Result<Self> {
        let output = tokio::process::Command::new(project_root.join(".venv").join("bin").join("python"))
            .arg(project_root.join("scripts").join("sam-policies"))
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("running scripts/sam-policies with .venv/bin/python (run scripts/python-tools first)")?;
        if !output.status.success() {
            bail!(
                "the SAM translator could not read template.yaml (scripts/sam-policies):\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        serde_json::from_slice(&output.stdout).context("reading the output of scripts/sam-policies")
    }

    /// Removes the `index`th statement of `function`'s inline policy named
    /// `policy`, and returns it.
    pub fn remove_statement(&mut self, function: &str, policy: &str, index: usize) -> anyhow::Result<Value> {
        let role = self
            .0
            .get_mut(function)
            .ok_or_else(|| anyhow!("no function {function} in template.yaml"))?;
        let policy = role
            .policies
            .iter_mut()
            .find(|p| p.name == policy)
            .ok_or_else(|| anyhow!("{function}'s role has no inline policy {policy}"))?;
        let statements = policy.document["Statement"]
            .as_array_mut()
            .ok_or_else(|| anyhow!("the policy's Statement is not a list"))?;
        anyhow::ensure!(index < statements.len(), "the policy has no statement {index}");
        Ok(statements.remove(index))
    }
}

/// What the stack's resources are called locally, to resolve the
/// policies' intrinsics the way CloudFormation resolves them in AWS.
#[derive(Debug, Clone)]
pub struct Locals {
    pub region: String,
    pub stack: String,
    /// Tables by logical id: local name, and the partition key attribute
    /// of the table and of each of its indexes.
    pub tables: BTreeMap<String, LocalTable>,
    /// Queues by logical id: URL and ARN.
    pub queues: BTreeMap<String, crate::moto::LocalQueue>,
}

#[derive(Debug, Clone)]
pub struct LocalTable {
    pub name: String,
    pub partition_key: String,
    pub index_partition_keys: BTreeMap<String, String>,
}

impl Locals {
    fn table_arn(&self, name: &str) -> String {
        format!("arn:aws:dynamodb:{}:{ACCOUNT}:table/{name}", self.region)
    }

    fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT}:{name}", self.region)
    }

    fn table_named(&self, name: &str) -> Option<&LocalTable> {
        self.tables.values().find(|t| t.name == name)
    }

    /// `Ref` of a resource, parameter or pseudo parameter.
    fn reference(&self, id: &str) -> Option<String> {
        match id {
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(ACCOUNT.to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            "AWS::StackName" => Some(self.stack.clone()),
            _ => self
                .tables
                .get(id)
                .map(|t| t.name.clone())
                .or_else(|| self.queues.get(id).map(|q| q.url.clone())),
        }
    }

    /// `Fn::GetAtt` of a table or a queue.
    fn attribute(&self, id: &str, attribute: &str) -> Option<String> {
        if let Some(table) = self.tables.get(id) {
            return match attribute {
                "Arn" => Some(self.table_arn(&table.name)),
                _ => None,
            };
        }
        let queue = self.queues.get(id)?;
        match attribute {
            "Arn" => Some(queue.arn.clone()),
            "QueueName" => queue.arn.rsplit(':').next().map(str::to_owned),
            "QueueUrl" => Some(queue.url.clone()),
            _ => None,
        }
    }

    /// A value of a policy with its intrinsics resolved. What the rehearsal
    /// has no local value for (the search domain's ARN, the WebSocket API's
    /// id) resolves to a marker that matches no call: the proxy only
    /// judges DynamoDB and SQS calls, and those resources are neither.
    fn resolve(&self, value: &Value) -> anyhow::Result<Value> {
        Ok(match value {
            // The LanguageExtensions pass leaves some `${…}` strings it
            // resolved partly without their Fn::Sub.
            Value::String(s) if s.contains("${") => Value::String(self.substitute(s, &serde_json::Map::new())?),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect::<anyhow::Result<_>>()?),
            Value::Object(map) if map.len() == 1 => {
                let (function, argument) = map.iter().next().expect("one entry");
                match function.as_str() {
                    "Ref" => Value::String(self.reference_or_marker(argument.as_str().unwrap_or_default())),
                    "Fn::GetAtt" => {
                        let (id, attribute) = match argument {
                            Value::Array(parts) => (
                                parts.first().and_then(Value::as_str).unwrap_or_default().to_owned(),
                                parts.get(1).and_then(Value::as_str).unwrap_or_default().to_owned(),
                            ),
                            Value::String(dotted) => {
                                let (id, attribute) = dotted.split_once('.').unwrap_or((dotted, ""));
                                (id.to_owned(), attribute.to_owned())
                            }
                            _ => bail!("Fn::GetAtt takes [resource, attribute], not {argument}"),
                        };
                        Value::String(
                            self.attribute(&id, &attribute)
                                .unwrap_or_else(|| unresolved(&format!("{id}.{attribute}"))),
                        )
                    }
                    "Fn::Sub" => match argument {
                        Value::String(text) => Value::String(self.substitute(text, &serde_json::Map::new())?),
                        Value::Array(parts) => {
                            let text = parts.first().and_then(Value::as_str).unwrap_or_default();
                            let mut variables = serde_json::Map::new();
                            if let Some(Value::Object(given)) = parts.get(1) {
                                for (name, value) in given {
                                    variables.insert(name.clone(), self.resolve(value)?);
                                }
                            }
                            Value::String(self.substitute(text, &variables)?)
                        }
                        _ => bail!("Fn::Sub takes a string or [string, variables], not {argument}"),
                    },
                    "Fn::Join" => {
                        let delimiter = argument[0].as_str().unwrap_or_default();
                        let parts = self.resolve(&argument[1])?;
                        let parts: Vec<&str> = parts
                            .as_array()
                            .map(|p| p.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        Value::String(parts.join(delimiter))
                    }
                    name if name.starts_with("Fn::") => {
                        bail!("{name} is left in a policy after the translator; the rehearsal cannot resolve it")
                    }
                    _ => self.resolve_fields(map)?,
                }
            }
            Value::Object(map) => self.resolve_fields(map)?,
            other => other.clone(),
        })
    }

    /// An object that is not an intrinsic: each of its values resolved.
    fn resolve_fields(&self, map: &serde_json::Map<String, Value>) -> anyhow::Result<Value> {
        Ok(Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                .collect::<anyhow::Result<_>>()?,
        ))
    }

    fn reference_or_marker(&self, id: &str) -> String {
        self.reference(id).unwrap_or_else(|| unresolved(id))
    }

    /// `Fn::Sub`'s `${Name}`, `${Resource.Attribute}` and `${!Literal}`.
    fn substitute(&self, text: &str, variables: &serde_json::Map<String, Value>) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| anyhow!("an unclosed ${{ in {text:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(value.as_str().unwrap_or_default());
            } else if let Some((id, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(id, attribute).unwrap_or_else(|| unresolved(name)));
            } else {
                out.push_str(&self.reference_or_marker(name));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn unresolved(what: &str) -> String {
    format!("(not rehearsed: {what})")
}

/// The AWS managed policies SAM attaches to the roles, as AWS publishes
/// them (the statements that name DynamoDB or SQS; the rest concern logs
/// and X-Ray, which the rehearsal does not proxy).
fn managed_policy(arn: &str) -> Option<Value> {
    let statements = match arn.rsplit('/').next()? {
        "AWSLambdaBasicExecutionRole" | "AWSXrayWriteOnlyAccess" => json!([]),
        "AWSLambdaSQSQueueExecutionRole" => json!([{
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*"
        }]),
        "AWSLambdaDynamoDBExecutionRole" => json!([{
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": "*"
        }]),
        _ => return None,
    };
    Some(json!({ "Statement": statements }))
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// A statement, resolved and ready to match calls.
#[derive(Debug)]
struct Statement {
    effect: Effect,
    /// `Action`, or with `not` set, `NotAction`.
    actions: Vec<WildMatch>,
    not_action: bool,
    resources: Vec<WildMatch>,
    conditions: Vec<Condition>,
}

/// One condition on `dynamodb:LeadingKeys`.
#[derive(Debug)]
struct Condition {
    set: SetOperator,
    /// `StringLike` (wildcards) or `StringEquals`.
    patterns: Vec<WildMatch>,
}

#[derive(Debug, Clone, Copy)]
enum SetOperator {
    /// A single-valued test: every value must match.
    Single,
    ForAllValues,
    ForAnyValue,
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

impl Statement {
    fn parse(statement: &Value) -> anyhow::Result<Self> {
        let effect = match statement["Effect"].as_str() {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => bail!("a statement's Effect is {other:?}"),
        };
        if statement.get("NotResource").is_some() || statement.get("Principal").is_some() {
            bail!("the rehearsal does not evaluate NotResource or Principal in an identity policy: {statement}");
        }
        let (actions, not_action) = match (statement.get("Action"), statement.get("NotAction")) {
            (Some(actions), None) => (actions, false),
            (None, Some(actions)) => (actions, true),
            _ => bail!("a statement needs Action or NotAction: {statement}"),
        };
        let mut conditions = Vec::new();
        if let Some(Value::Object(operators)) = statement.get("Condition") {
            for (operator, tests) in operators {
                let (set, test) = match operator.split_once(':') {
                    Some(("ForAllValues", test)) => (SetOperator::ForAllValues, test),
                    Some(("ForAnyValue", test)) => (SetOperator::ForAnyValue, test),
                    None => (SetOperator::Single, operator.as_str()),
                    Some(_) => bail!("the rehearsal does not evaluate the condition operator {operator}"),
                };
                if !matches!(test, "StringLike" | "StringEquals") {
                    bail!("the rehearsal does not evaluate the condition operator {operator}");
                }
                for (key, values) in tests.as_object().into_iter().flatten() {
                    if key != "dynamodb:LeadingKeys" {
                        bail!("the rehearsal does not evaluate the condition key {key}");
                    }
                    let patterns = strings(values)
                        .iter()
                        .map(|v| {
                            if test == "StringEquals" && v.contains(['*', '?']) {
                                bail!("the rehearsal does not evaluate StringEquals on a value with a wildcard: {v}");
                            }
                            Ok(WildMatch::new(v))
                        })
                        .collect::<anyhow::Result<_>>()?;
                    conditions.push(Condition { set, patterns });
                }
            }
        }
        Ok(Self {
            effect,
            // Actions are case-insensitive in IAM; resources are not.
            actions: strings(actions)
                .iter()
                .map(|a| WildMatch::new_case_insensitive(a))
                .collect(),
            not_action,
            resources: strings(&statement["Resource"])
                .iter()
                .map(|r| WildMatch::new(r))
                .collect(),
            conditions,
        })
    }

    fn applies_to(&self, call: &Call) -> bool {
        let named = self.actions.iter().any(|a| a.matches(&call.action));
        named != self.not_action
            && self.resources.iter().any(|r| r.matches(&call.resource))
            && self.conditions.iter().all(|c| c.holds(&call.leading_keys))
    }
}

impl Condition {
    fn holds(&self, keys: &[String]) -> bool {
        let matches = |key: &String| self.patterns.iter().any(|p| p.matches(key));
        match self.set {
            // IAM: true when the request has no values for the key.
            SetOperator::ForAllValues => keys.iter().all(matches),
            SetOperator::ForAnyValue => keys.iter().any(matches),
            SetOperator::Single => !keys.is_empty() && keys.iter().all(matches),
        }
    }
}

/// One function's role, resolved.
#[derive(Debug)]
struct Role {
    /// `arn:aws:sts::…:assumed-role/<role>/<function>`, as AWS names the
    /// caller in its denials.
    caller: String,
    statements: Vec<Statement>,
}

/// One action on one resource, as IAM authorizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
    /// The partition key values the call touches (`dynamodb:LeadingKeys`).
    pub leading_keys: Vec<String>,
}

/// A call the proxy refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
    /// The message the caller got.
    pub message: String,
}

/// The roles of every rehearsed function, and the calls refused so far.
#[derive(Debug)]
pub struct Enforcer {
    roles: BTreeMap<String, Role>,
    locals: Locals,
    denials: Mutex<Vec<Denial>>,
}

impl Enforcer {
    pub fn new(policies: &TemplatePolicies, locals: Locals) -> anyhow::Result<Self> {
        let mut roles = BTreeMap::new();
        for (function, role) in &policies.0 {
            let mut documents = Vec::new();
            for policy in &role.policies {
                documents.push(
                    locals
                        .resolve(&policy.document)
                        .with_context(|| format!("{function}'s policy {}", policy.name))?,
                );
            }
            for arn in &role.managed {
                documents.push(managed_policy(arn).ok_or_else(|| {
                    anyhow!("{function}'s role has the managed policy {arn}, which the rehearsal does not know")
                })?);
            }
            let mut statements = Vec::new();
            for document in &documents {
                let listed = match &document["Statement"] {
                    Value::Array(items) => items.clone(),
                    single => vec![single.clone()],
                };
                for statement in &listed {
                    statements.push(Statement::parse(statement).with_context(|| format!("{function}'s role"))?);
                }
            }
            let caller = format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/{stack}-{role}/{stack}-{function}",
                stack = locals.stack,
                role = role.role
            );
            roles.insert(function.clone(), Role { caller, statements });
        }
        Ok(Self {
            roles,
            locals,
            denials: Mutex::new(Vec::new()),
        })
    }

    /// The calls refused so far, oldest first.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().expect("denials lock").clone()
    }

    /// Whether `function` may make `call`: `Err` holds AWS's message.
    pub fn authorize(&self, function: &str, call: &Call) -> Result<(), String> {
        let role = self
            .roles
            .get(function)
            .ok_or_else(|| "The security token included in the request is invalid.".to_owned())?;
        let applying: Vec<&Statement> = role.statements.iter().filter(|s| s.applies_to(call)).collect();
        let reason = if applying.iter().any(|s| s.effect == Effect::Deny) {
            "with an explicit deny in an identity-based policy".to_owned()
        } else if applying.iter().any(|s| s.effect == Effect::Allow) {
            return Ok(());
        } else {
            format!("because no identity-based policy allows the {} action", call.action)
        };
        let message = format!(
            "User: {} is not authorized to perform: {} on resource: {} {reason}",
            role.caller, call.action, call.resource
        );
        tracing::warn!(function, action = %call.action, resource = %call.resource, "IAM denied a call: {message}");
        self.denials.lock().expect("denials lock").push(Denial {
            function: function.to_owned(),
            action: call.action.clone(),
            resource: call.resource.clone(),
            message: message.clone(),
        });
        Err(message)
    }
}

/// The service an AWS JSON call is for, from its `X-Amz-Target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    DynamoDb,
    Sqs,
}

fn service_of(target: &str) -> Option<(Service, &str)> {
    let (prefix, operation) = target.split_once('.')?;
    match prefix {
        "DynamoDB_20120810" => Some((Service::DynamoDb, operation)),
        "AmazonSQS" => Some((Service::Sqs, operation)),
        _ => None,
    }
}

/// An attribute value as IAM compares it: the string of an S, N or B.
fn key_value(value: &Value) -> Option<String> {
    ["S", "N", "B"]
        .iter()
        .find_map(|t| value.get(*t)?.as_str().map(str::to_owned))
}

impl Locals {
    /// The IAM calls a DynamoDB request makes: one per table for a batch,
    /// one per item for a transaction.
    fn dynamodb_calls(&self, operation: &str, body: &Value) -> anyhow::Result<Vec<Call>> {
        let on_item = |action: &str, request: &Value, key_field: &str| -> anyhow::Result<Call> {
            let table = request["TableName"]
                .as_str()
                .ok_or_else(|| anyhow!("{operation} without a TableName"))?;
            let leading_keys = self
                .table_named(table)
                .and_then(|t| key_value(&request[key_field][&t.partition_key]))
                .into_iter()
                .collect();
            Ok(Call {
                action: format!("dynamodb:{action}"),
                resource: self.table_arn(table),
                leading_keys,
            })
        };
        match operation {
            "GetItem" | "DeleteItem" | "UpdateItem" => Ok(vec![on_item(operation, body, "Key")?]),
            "PutItem" => Ok(vec![on_item(operation, body, "Item")?]),
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    let (kind, request) = item
                        .as_object()
                        .and_then(|o| o.iter().next())
                        .ok_or_else(|| anyhow!("an empty TransactItems entry"))?;
                    let (action, key_field) = match kind.as_str() {
                        "Put" => ("PutItem", "Item"),
                        "Update" => ("UpdateItem", "Key"),
                        "Delete" => ("DeleteItem", "Key"),
                        "ConditionCheck" => ("ConditionCheckItem", "Key"),
                        "Get" => ("GetItem", "Key"),
                        other => bail!("a TransactItems entry of kind {other}"),
                    };
                    on_item(action, request, key_field)
                })
                .collect(),
            "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(table, requests)| {
                    let partition_key = self.table_named(table).map(|t| t.partition_key.as_str());
                    let keys: Vec<&Value> = if operation == "BatchGetItem" {
                        requests["Keys"].as_array().into_iter().flatten().collect()
                    } else {
                        requests
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r["PutRequest"].get("Item").or_else(|| r["DeleteRequest"].get("Key")))
                            .collect()
                    };
                    Ok(Call {
                        action: format!("dynamodb:{operation}"),
                        resource: self.table_arn(table),
                        leading_keys: keys.iter().filter_map(|k| key_value(&k[partition_key?])).collect(),
                    })
                })
                .collect(),
            _ => {
                let table = body["TableName"].as_str();
                let index = body["IndexName"].as_str();
                let resource = match (table, index) {
                    (Some(table), Some(index)) => format!("{}/index/{index}", self.table_arn(table)),
                    (Some(table), None) => self.table_arn(table),
                    (None, _) => "*".to_owned(),
                };
                let leading_keys = match (operation, table.and_then(|t| self.table_named(t))) {
                    ("Query", Some(local)) => {
                        let key = match index {
                            Some(index) => local.index_partition_keys.get(index),
                            None => Some(&local.partition_key),
                        };
                        key.and_then(|key| query_partition_value(body, key))
                            .into_iter()
                            .collect()
                    }
                    _ => Vec::new(),
                };
                Ok(vec![Call {
                    action: format!("dynamodb:{operation}"),
                    resource,
                    leading_keys,
                }])
            }
        }
    }

    /// The IAM call an SQS request makes (a batch is authorized as its
    /// single action).
    fn sqs_call(&self, operation: &str, body: &Value) -> Call {
        let action = operation.strip_suffix("Batch").unwrap_or(operation);
        let queue = body["QueueUrl"]
            .as_str()
            .and_then(|url| url.rsplit('/').next())
            .or_else(|| body["QueueName"].as_str());
        Call {
            action: format!("sqs:{action}"),
            resource: queue.map_or_else(|| "*".to_owned(), |name| self.queue_arn(name)),
            leading_keys: Vec::new(),
        }
    }
}

/// The partition key value of a Query's `KeyConditionExpression`
/// (`#pk = :pk AND …`).
fn query_partition_value(body: &Value, key: &str) -> Option<String> {
    let expression = body["KeyConditionExpression"].as_str()?;
    let lowered = expression.to_ascii_lowercase();
    let mut clauses = Vec::new();
    let mut start = 0;
    for (at, _) in lowered.match_indices(" and ") {
        clauses.push(&expression[start..at]);
        start = at + 5;
    }
    clauses.push(&expression[start..]);
    clauses.iter().find_map(|clause| {
        let clause = clause.trim().trim_matches(|c| c == '(' || c == ')');
        let (left, right) = clause.split_once('=')?;
        let (left, right) = (left.trim(), right.trim());
        let (name, placeholder) = if right.starts_with(':') {
            (left, right)
        } else {
            (right, left)
        };
        let name = if name.starts_with('#') {
            body["ExpressionAttributeNames"][name].as_str()?
        } else {
            name
        };
        (name == key)
            .then(|| key_value(&body["ExpressionAttributeValues"][placeholder]))
            .flatten()
    })
}

/// The access key of a SigV4 `Authorization` header: the function.
fn principal(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').next()
}

/// What the proxy passes calls on to.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// dynoxide, or the fault proxy in front of it.
    pub dynamodb: String,
    /// moto, when the stack has queues.
    pub sqs: Option<String>,
    /// OpenSearch (osmem-server), when the proxy meters the functions'
    /// searches (`/as/<function>/…`).
    pub opensearch: Option<String>,
}

struct Proxy {
    enforcer: Arc<Enforcer>,
    upstreams: Upstreams,
    meter: Option<Arc<Meter>>,
    client: reqwest::Client,
}

/// Serves the proxy on a free loopback port until `shutdown` turns true,
/// in front of `upstreams`; returns its endpoint, for every service. With
/// a `meter`, it records what each function used (see [`crate::meter`]).
pub async fn serve(
    enforcer: Arc<Enforcer>,
    upstreams: Upstreams,
    meter: Option<Arc<Meter>>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(String, JoinHandle<()>)> {
    let proxy = Arc::new(Proxy {
        enforcer,
        upstreams,
        meter,
        client: reqwest::Client::new(),
    });
    let app = axum::Router::new().fallback(check).with_state(proxy);
    crate::forward::serve_proxy("the IAM proxy", app, shutdown).await
}

/// A metered function's OpenSearch request (`/as/<function>/<path>`):
/// counted, then passed on. OpenSearch's access policy is not rehearsed.
async fn search(proxy: &Proxy, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Response {
    let rest = uri.path().strip_prefix("/as/").unwrap_or_default();
    let (function, path) = rest.split_once('/').map_or((rest, ""), |(f, p)| (f, p));
    let (Some(meter), Some(upstream)) = (&proxy.meter, &proxy.upstreams.opensearch) else {
        return (StatusCode::NOT_FOUND, "this proxy does not meter searches").into_response();
    };
    let (queries, writes) = crate::meter::search_work(method.as_str(), path, &body);
    meter.record(function, |u| {
        u.search_queries += queries;
        u.search_writes += writes;
    });
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{upstream}/{path}{query}");
    crate::forward::forward_request(&proxy.client, method, &url, headers, body).await
}

/// Passes a DynamoDB call on with `ReturnConsumedCapacity: TOTAL`, adds
/// what it consumed to `function`'s account, and answers as the caller
/// asked (without the capacity, unless it asked for it).
async fn metered_dynamodb(
    proxy: &Proxy,
    meter: &Meter,
    function: &str,
    operation: &str,
    headers: &HeaderMap,
    mut call: Value,
    body: Bytes,
) -> Response {
    const CAPACITY: &str = "ReturnConsumedCapacity";
    let charged = matches!(
        operation,
        "GetItem"
            | "PutItem"
            | "UpdateItem"
            | "DeleteItem"
            | "Query"
            | "Scan"
            | "BatchGetItem"
            | "BatchWriteItem"
            | "TransactGetItems"
            | "TransactWriteItems"
    );
    let asked = call[CAPACITY].as_str().is_some_and(|mode| mode != "NONE");
    let body = if charged && !asked && call.is_object() {
        call[CAPACITY] = json!("TOTAL");
        Bytes::from(call.to_string())
    } else {
        body
    };
    let answer = crate::forward::forward(&proxy.client, &proxy.upstreams.dynamodb, headers, body).await;
    let (parts, answer) = answer.into_parts();
    let Ok(bytes) = axum::body::to_bytes(answer, usize::MAX).await else {
        return (StatusCode::BAD_GATEWAY, "reading dynoxide's answer").into_response();
    };
    let mut parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let (read, write) = crate::meter::consumed_units(operation, &parsed);
    meter.record(function, |u| {
        u.dynamodb_requests += 1;
        u.read_units += read;
        u.write_units += write;
    });
    let removed = !asked
        && parsed
            .as_object_mut()
            .and_then(|f| f.remove("ConsumedCapacity"))
            .is_some();
    let bytes = if removed {
        Bytes::from(parsed.to_string())
    } else {
        bytes
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn check(State(proxy): State<Arc<Proxy>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if uri.path().starts_with("/as/") {
        return search(&proxy, method, &uri, &headers, body).await;
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some((service, operation)) = service_of(target) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("the rehearsal's IAM proxy passes on DynamoDB and SQS JSON calls only, not {target:?}"),
        )
            .into_response();
    };
    let Some(function) = principal(&headers) else {
        return denied(
            service,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
    };
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let locals = &proxy.enforcer.locals;
    let calls = match service {
        // A request IAM cannot read (no TableName, an unknown kind of
        // transaction item) is malformed: dynoxide answers it with
        // DynamoDB's own validation error.
        Service::DynamoDb => locals.dynamodb_calls(operation, &parsed).unwrap_or_default(),
        Service::Sqs => vec![locals.sqs_call(operation, &parsed)],
    };
    for call in &calls {
        if let Err(message) = proxy.enforcer.authorize(function, call) {
            let kind = if proxy.enforcer.roles.contains_key(function) {
                "AccessDeniedException"
            } else {
                "UnrecognizedClientException"
            };
            return denied(service, kind, &message);
        }
    }
    if let Some(meter) = &proxy.meter {
        match service {
            Service::DynamoDb => {
                return metered_dynamodb(&proxy, meter, function, operation, &headers, parsed, body).await;
            }
            Service::Sqs => meter.record(function, |u| {
                u.sqs_requests += 1;
                u.sqs_messages += crate::meter::messages_sent(operation, &parsed);
            }),
        }
    }
    let upstream = match (service, &proxy.upstreams.sqs) {
        (Service::DynamoDb, _) => &proxy.upstreams.dynamodb,
        (Service::Sqs, Some(sqs)) => sqs,
        (Service::Sqs, None) => return (StatusCode::BAD_GATEWAY, "this stack runs without SQS").into_response(),
    };
    crate::forward::forward(&proxy.client, upstream, &headers, body).await
}

/// The error AWS answers a refused call with, in the service's JSON
/// protocol (SQS adds the query-protocol code its SDKs also read).
fn denied(service: Service, kind: &str, message: &str) -> Response {
    let (status, body) = match service {
        Service::DynamoDb => (
            StatusCode::BAD_REQUEST,
            json!({ "__type": format!("com.amazon.coral.service#{kind}"), "Message": message }),
        ),
        Service::Sqs => (
            StatusCode::FORBIDDEN,
            json!({ "__type": format!("com.amazon.coral.service#{kind}"), "message": message }),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if service == Service::Sqs {
        let code = kind.strip_suffix("Exception").unwrap_or(kind);
        if let Ok(value) = HeaderValue::from_str(&format!("{code};Sender")) {
            response.headers_mut().insert("x-amzn-query-error", value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locals() -> Locals {
        Locals {
            region: "us-east-1".into(),
            stack: "storefront-local".into(),
            tables: BTreeMap::from([(
                "ShopTable".to_owned(),
                LocalTable {
                    name: "ShopTable".into(),
                    partition_key: "pk".into(),
                    index_partition_keys: BTreeMap::from([("ByCategoryPrice".to_owned(), "gsi1pk".to_owned())]),
                },
            )]),
            queues: BTreeMap::from([(
                "SearchIndexQueue".to_owned(),
                crate::moto::LocalQueue {
                    url: "http://127.0.0.1:1/123456789012/SearchIndexQueue".into(),
                    arn: "arn:aws:sqs:us-east-1:123456789012:SearchIndexQueue".into(),
                },
            )]),
        }
    }

    fn enforcer(statements: Value) -> Enforcer {
        let policies = TemplatePolicies(BTreeMap::from([(
            "F".to_owned(),
            TemplateRole {
                role: "FRole".into(),
                policies: vec![InlinePolicy {
                    name: "FRolePolicy0".into(),
                    document: json!({ "Statement": statements }),
                }],
                managed: vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into()],
            },
        )]));
        Enforcer::new(&policies, locals()).unwrap()
    }

    fn calls(operation: &str, body: Value) -> Vec<Call> {
        locals().dynamodb_calls(operation, &body).unwrap()
    }

    #[test]
    fn sam_policy_template_intrinsics_resolve_to_the_local_table_and_queue() {
        let resolved = locals()
            .resolve(&json!([
                { "Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}/index/*",
                              { "tableName": { "Ref": "ShopTable" } }] },
                { "Fn::Sub": ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}",
                              { "queueName": { "Fn::GetAtt": ["SearchIndexQueue", "QueueName"] } }] },
                { "Fn::GetAtt": ["ShopTable", "Arn"] },
                "${SearchDomain.Arn}/products/*",
            ]))
            .unwrap();
        assert_eq!(
            resolved,
            json!([
                "arn:aws:dynamodb:us-east-1:123456789012:table/ShopTable/index/*",
                "arn:aws:sqs:us-east-1:123456789012:SearchIndexQueue",
                "arn:aws:dynamodb:us-east-1:123456789012:table/ShopTable",
                "(not rehearsed: SearchDomain.Arn)/products/*",
            ])
        );
    }

    #[test]
    fn a_transaction_is_authorized_item_by_item_and_a_batch_table_by_table() {
        let transaction = calls(
            "TransactWriteItems",
            json!({ "TransactItems": [
                { "Update": { "TableName": "ShopTable", "Key": { "pk": { "S": "CART#u" }, "sk": { "S": "x" } } } },
                { "ConditionCheck": { "TableName": "ShopTable", "Key": { "pk": { "S": "PRODUCT#p" }, "sk": { "S": "y" } } } },
            ]}),
        );
        let actions: Vec<(&str, &[String])> = transaction
            .iter()
            .map(|c| (c.action.as_str(), c.leading_keys.as_slice()))
            .collect();
        assert_eq!(
            actions,
            [
                ("dynamodb:UpdateItem", &["CART#u".to_owned()][..]),
                ("dynamodb:ConditionCheckItem", &["PRODUCT#p".to_owned()][..]),
            ]
        );
        let batch = calls(
            "BatchWriteItem",
            json!({ "RequestItems": { "ShopTable": [
                { "DeleteRequest": { "Key": { "pk": { "S": "WATCH#p" }, "sk": { "S": "LIVE#c" } } } },
                { "PutRequest": { "Item": { "pk": { "S": "LIVE#c" }, "sk": { "S": "c" } } } },
            ]}}),
        );
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].leading_keys, ["WATCH#p", "LIVE#c"]);
        let query = calls(
            "Query",
            json!({ "TableName": "ShopTable", "IndexName": "ByCategoryPrice",
                    "KeyConditionExpression": "#k = :c AND price BETWEEN :a AND :b",
                    "ExpressionAttributeNames": { "#k": "gsi1pk" },
                    "ExpressionAttributeValues": { ":c": { "S": "CAT#1" }, ":a": { "N": "1" }, ":b": { "N": "2" } } }),
        );
        assert_eq!(
            query[0].resource,
            "arn:aws:dynamodb:us-east-1:123456789012:table/ShopTable/index/ByCategoryPrice"
        );
        assert_eq!(query[0].leading_keys, ["CAT#1"]);
    }

    #[test]
    fn leading_keys_conditions_confine_a_role_to_its_own_items() {
        let enforcer = enforcer(json!([{
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:BatchWriteItem"],
            "Resource": { "Fn::GetAtt": ["ShopTable", "Arn"] },
            "Condition": { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["LIVE#*", "WATCH#*"] } }
        }]));
        let put = |pk: &str| {
            calls(
                "PutItem",
                json!({ "TableName": "ShopTable", "Item": { "pk": { "S": pk }, "sk": { "S": "x" } } }),
            )
            .remove(0)
        };
        assert_eq!(enforcer.authorize("F", &put("LIVE#abc")), Ok(()));
        let refused = enforcer.authorize("F", &put("PRODUCT#p1")).unwrap_err();
        assert_eq!(
            refused,
            "User: arn:aws:sts::123456789012:assumed-role/storefront-local-FRole/storefront-local-F is not \
             authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/ShopTable \
             because no identity-based policy allows the dynamodb:PutItem action"
        );
        let mixed = calls(
            "BatchWriteItem",
            json!({ "RequestItems": { "ShopTable": [
                { "PutRequest": { "Item": { "pk": { "S": "WATCH#p" }, "sk": { "S": "x" } } } },
                { "DeleteRequest": { "Key": { "pk": { "S": "CART#u" }, "sk": { "S": "x" } } } },
            ]}}),
        );
        assert!(enforcer.authorize("F", &mixed[0]).is_err());
        assert_eq!(enforcer.denials().len(), 2);
        let get = calls(
            "GetItem",
            json!({ "TableName": "ShopTable", "Key": { "pk": { "S": "LIVE#a" }, "sk": { "S": "x" } } }),
        );
        assert!(
            enforcer.authorize("F", &get[0]).is_err(),
            "GetItem is not in the statement"
        );
        assert!(enforcer.authorize("Other", &get[0]).is_err(), "an unknown principal");
    }

    #[test]
    fn an_explicit_deny_wins_and_unknown_conditions_fail_the_start() {
        let enforcer = enforcer(json!([
            { "Effect": "Allow", "Action": "sqs:*", "Resource": "*" },
            { "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:Search*" },
        ]));
        let send = locals().sqs_call(
            "SendMessageBatch",
            &json!({ "QueueUrl": "http://127.0.0.1:1/123456789012/SearchIndexQueue" }),
        );
        assert_eq!(send.action, "sqs:SendMessage");
        assert!(
            enforcer
                .authorize("F", &send)
                .unwrap_err()
                .ends_with("with an explicit deny in an identity-based policy")
        );
        let receive = locals().sqs_call(
            "ReceiveMessage",
            &json!({ "QueueUrl": "http://127.0.0.1:1/123456789012/SearchIndexQueue" }),
        );
        assert_eq!(enforcer.authorize("F", &receive), Ok(()));
        let unknown = Statement::parse(&json!({
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceIp": "1.2.3.4" } }
        }));
        assert!(unknown.is_err());
    }

    /// template.yaml's roles as SAM translates them: what each function
    /// needs, and no more where the template narrows it.
    #[tokio::test]
    async fn the_templates_roles_allow_what_each_function_does_and_no_more() {
        let policies = TemplatePolicies::translate(&crate::project_root()).await.unwrap();
        let enforcer = Enforcer::new(&policies, locals()).unwrap();
        let item = |operation: &str, pk: &str| {
            calls(
                operation,
                json!({ "TableName": "ShopTable", "Key": { "pk": { "S": pk }, "sk": { "S": "x" } },
                        "Item": { "pk": { "S": pk }, "sk": { "S": "x" } } }),
            )
            .remove(0)
        };
        let allowed = |function: &str, call: &Call| enforcer.authorize(function, call).is_ok();
        assert!(allowed("AddCartItemFunction", &item("UpdateItem", "CART#u")));
        assert!(allowed("GetProductFunction", &item("GetItem", "PRODUCT#p")));
        assert!(
            !allowed("GetProductFunction", &item("PutItem", "PRODUCT#p")),
            "read-only"
        );
        assert!(allowed("LiveSocketFunction", &item("PutItem", "LIVE#c")));
        assert!(
            !allowed("LiveSocketFunction", &item("PutItem", "PRODUCT#p")),
            "connection items only"
        );
        assert!(!allowed("PushStockFunction", &item("DeleteItem", "CART#u")));
        assert!(allowed("PushStockFunction", &item("DeleteItem", "WATCH#p")));
        assert!(allowed("PushOrderStatusFunction", &item("GetItem", "WATCH#ORDER#o")));
        assert!(
            !allowed("PushOrderStatusFunction", &item("GetItem", "ORDER#o")),
            "an order's watchers, never the order"
        );
        let send = locals().sqs_call(
            "SendMessageBatch",
            &json!({ "QueueUrl": "http://127.0.0.1:1/123456789012/SearchIndexQueue" }),
        );
        assert!(allowed("RelayEventsFunction", &send));
        assert!(!allowed("AddCartItemFunction", &send), "only the relay sends");
    }
}
