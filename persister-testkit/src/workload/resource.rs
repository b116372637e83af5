//! Realistic resource updates: nested properties, read-only properties, schema hints and a
//! few opaque values, about 7.5 KB of JSON each.

use std::collections::BTreeMap;

use persister_core::{
    CommandSource, FieldHint, Operation, RawJson, Resource, ResourceUpdate, ResourceUpdateState,
    Schema, Target,
};
use rand::{Rng, RngExt};

const TYPES: [&str; 6] = [
    "AWS::EC2::Instance",
    "AWS::S3::Bucket",
    "AWS::RDS::DBInstance",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
    "AWS::SecretsManager::Secret",
];

/// The resource update at `position` of command `command_id`.
pub fn resource_update(rng: &mut impl Rng, command_id: &str, position: usize) -> ResourceUpdate {
    let resource_type = TYPES[rng.random_range(0..TYPES.len())];
    let ksuid =
        format!("{:0>27}", format!("{}r{position}", &command_id[..command_id.len().min(12)]));
    let label =
        format!("{}-{position}", resource_type.rsplit("::").next().unwrap_or("res").to_lowercase());
    let operation = match rng.random_range(0..10) {
        0 => Operation::Update,
        1 => Operation::Delete,
        _ => Operation::Create,
    };
    let resource = Resource {
        label: label.clone(),
        resource_type: resource_type.to_owned(),
        stack: "prod-stack".to_owned(),
        target: "aws-prod".to_owned(),
        schema: schema(resource_type),
        properties: Some(raw(&properties(rng, resource_type, &label))),
        read_only_properties: Some(raw(&read_only(rng, resource_type, &label))),
        native_id: format!("{label}-{:012x}", rng.random::<u64>() >> 16),
        managed: true,
        ksuid,
        ..Resource::default()
    };
    ResourceUpdate {
        resource,
        resource_target: target(),
        operation,
        state: ResourceUpdateState::NotStarted,
        remaining: 3,
        source: CommandSource::User,
        stack_label: "prod-stack".to_owned(),
        reference_labels: BTreeMap::from([("vpc".to_owned(), "main-vpc".to_owned())]),
        ..ResourceUpdate::default()
    }
}

fn raw(text: &str) -> RawJson {
    // The generator only writes valid JSON; fall back to an empty object if that ever breaks.
    RawJson::new(text).unwrap_or_else(|_| RawJson::new("{}").unwrap_or_else(|e| panic!("{e}")))
}

fn target() -> Target {
    Target {
        label: "aws-prod".to_owned(),
        namespace: "AWS".to_owned(),
        config: Some(raw(
            r#"{"Region":"eu-west-1","Profile":"prod","AssumeRoleArn":"arn:aws:iam::123456789012:role/formae-deployer","Tags":{"team":"platform"}}"#,
        )),
        discoverable: true,
        ..Target::default()
    }
}

fn schema(resource_type: &str) -> Schema {
    let fields: Vec<String> =
        ["Name", "Tags", "Description", "Configuration", "Policies", "Network"]
            .map(String::from)
            .to_vec();
    let hints = fields
        .iter()
        .map(|f| {
            let hint = FieldHint {
                create_only: f == "Name",
                persist: true,
                required: f == "Name",
                ..FieldHint::default()
            };
            (f.clone(), hint)
        })
        .collect();
    Schema {
        identifier: if resource_type.contains("S3") { "BucketName".into() } else { "Arn".into() },
        tags: "Tags".into(),
        fields: Some(fields),
        hints: Some(hints),
        discoverable: true,
        extractable: true,
        ..Schema::default()
    }
}

fn properties(rng: &mut impl Rng, resource_type: &str, label: &str) -> String {
    let tags: Vec<String> = (0..12)
        .map(|i| format!(r#"{{"Key":"tag-{i}","Value":"value-{i}-{:08x}"}}"#, rng.random::<u32>()))
        .collect();
    let statements: Vec<String> = (0..13)
        .map(|i| {
            format!(
                r#"{{"Sid":"Stmt{i}","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","logs:CreateLogStream","logs:PutLogEvents"],"Resource":["arn:aws:s3:::{label}-bucket-{i}/*","arn:aws:logs:eu-west-1:123456789012:log-group:/aws/{label}:*"],"Condition":{{"StringEquals":{{"aws:RequestedRegion":"eu-west-1"}}}}}}"#
            )
        })
        .collect();
    let secret = match resource_type {
        "AWS::RDS::DBInstance" => format!(
            r#","MasterUsername":"admin","MasterUserPassword":{{"$value":"pw-{:016x}","$visibility":"Opaque","$strategy":"SetOnce"}}"#,
            rng.random::<u64>()
        ),
        "AWS::SecretsManager::Secret" => {
            format!(
                r#","SecretString":{{"$value":"s-{:016x}","$visibility":"Opaque"}}"#,
                rng.random::<u64>()
            )
        }
        "AWS::Lambda::Function" => format!(
            r#","Environment":{{"Variables":{{"LOG_LEVEL":"info","API_TOKEN":{{"$value":"t-{:016x}","$visibility":"Opaque"}}}}}}"#,
            rng.random::<u64>()
        ),
        _ => String::new(),
    };
    format!(
        r#"{{"Name":"{label}","Description":"Managed by formae for the prod stack; resource {label}","Tags":[{}],"Configuration":{{"InstanceType":"m6i.large","Monitoring":true,"Retention":{},"Subnets":["subnet-0a1b2c3d","subnet-1b2c3d4e","subnet-2c3d4e5f"],"SecurityGroups":["sg-0123456789abcdef0"],"BlockDevices":[{{"DeviceName":"/dev/xvda","Ebs":{{"VolumeSize":100,"VolumeType":"gp3","Encrypted":true,"Iops":3000}}}}]}},"Policies":[{{"PolicyName":"{label}-access","PolicyDocument":{{"Version":"2012-10-17","Statement":[{}]}}}}],"Network":{{"VpcId":"vpc-0abc","Ipv6":false,"Cidr":"10.{}.0.0/16"}}{secret}}}"#,
        tags.join(","),
        rng.random_range(1..=30),
        statements.join(","),
        rng.random_range(0..=255),
    )
}

fn read_only(rng: &mut impl Rng, resource_type: &str, label: &str) -> String {
    format!(
        r#"{{"Arn":"arn:aws:{}:eu-west-1:123456789012:{label}","Id":"{:016x}","CreationTime":"2025-12-19T10:00:00Z","Endpoint":{{"Address":"{label}.internal.example.com","Port":{}}},"Status":"available","OwnerId":"123456789012","Attachments":[{{"Id":"att-{:08x}","State":"attached"}},{{"Id":"att-{:08x}","State":"attached"}}]}}"#,
        resource_type.split("::").nth(1).unwrap_or("aws").to_lowercase(),
        rng.random::<u64>(),
        rng.random_range(1024..65535),
        rng.random::<u32>(),
        rng.random::<u32>(),
    )
}
