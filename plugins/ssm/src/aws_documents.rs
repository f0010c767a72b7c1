//! A few of the documents AWS owns in every account (Owner `Amazon`), so
//! SendCommand, associations, maintenance window tasks and ListDocuments
//! find the names people use. Contents are short forms of AWS's own
//! (schema, parameters, one step); they are read, never run.

use serde_json::{Value, json};

pub struct AwsDocument {
    pub name: &'static str,
    pub document_type: &'static str,
    pub target_type: Option<&'static str>,
    pub content: Value,
}

fn command(name: &'static str, action: &'static str, param: &str, desc: &str) -> AwsDocument {
    AwsDocument {
        name,
        document_type: "Command",
        target_type: Some("/AWS::EC2::Instance"),
        content: json!({
            "schemaVersion": "1.2",
            "description": desc,
            "parameters": {
                param: {"type": "StringList", "description": "(Required) Specify a shell script or a command to run.", "minItems": 1, "displayType": "textarea"},
                "workingDirectory": {"type": "String", "default": "", "description": "(Optional) The path to the working directory on your instance.", "maxChars": 4096},
                "executionTimeout": {"type": "String", "default": "3600", "description": "(Optional) The time in seconds for a command to complete before it is considered to have failed. Default is 3600 (1 hour). Maximum is 172800 (48 hours).", "allowedPattern": "([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)"}
            },
            "runtimeConfig": {action: {"properties": [{"id": "0.aws:runScript", "runCommand": format!("{{{{ {param} }}}}"), "workingDirectory": "{{ workingDirectory }}", "timeoutSeconds": "{{ executionTimeout }}"}]}}
        }),
    }
}

fn automation(name: &'static str, desc: &str, action: &str) -> AwsDocument {
    AwsDocument {
        name,
        document_type: "Automation",
        target_type: Some("/AWS::EC2::Instance"),
        content: json!({
            "schemaVersion": "0.3",
            "description": desc,
            "assumeRole": "{{ AutomationAssumeRole }}",
            "parameters": {
                "InstanceId": {"type": "StringList", "description": "(Required) EC2 Instance(s) to act on"},
                "AutomationAssumeRole": {"type": "String", "description": "(Optional) The ARN of the role that allows Automation to perform the actions on your behalf.", "default": ""}
            },
            "mainSteps": [{"name": action, "action": "aws:changeInstanceState", "inputs": {"InstanceIds": "{{ InstanceId }}", "DesiredState": action}}]
        }),
    }
}

fn session(name: &'static str, desc: &str, session_type: &str) -> AwsDocument {
    AwsDocument {
        name,
        document_type: "Session",
        target_type: None,
        content: json!({
            "schemaVersion": "1.0",
            "description": desc,
            "sessionType": session_type,
            "parameters": {
                "portNumber": {"type": "String", "description": "(Optional) Port number of the server on the instance", "allowedPattern": "^([1-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$", "default": "80"},
                "localPortNumber": {"type": "String", "description": "(Optional) Port number on local machine to forward traffic to. An open port is chosen at run-time if not provided", "allowedPattern": "^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$", "default": "0"}
            },
            "properties": {"portNumber": "{{ portNumber }}", "type": "LocalPortForwarding", "localPortNumber": "{{ localPortNumber }}"}
        }),
    }
}

pub fn all() -> Vec<AwsDocument> {
    vec![
        command(
            "AWS-RunShellScript",
            "aws:runShellScript",
            "commands",
            "Run a shell script or specify the commands to run.",
        ),
        command(
            "AWS-RunPowerShellScript",
            "aws:runPowerShellScript",
            "commands",
            "Run a PowerShell script or specify the paths to scripts to run.",
        ),
        AwsDocument {
            name: "AWS-RunPatchBaseline",
            document_type: "Command",
            target_type: Some("/AWS::EC2::Instance"),
            content: json!({
                "schemaVersion": "2.2",
                "description": "Scans for or installs patches from a patch baseline to a Linux or Windows operating system.",
                "parameters": {
                    "Operation": {"type": "String", "description": "(Required) The update or configuration to perform on the instance.", "allowedValues": ["Scan", "Install"]},
                    "RebootOption": {"type": "String", "description": "(Optional) Reboot behavior after a patch Install operation.", "allowedValues": ["RebootIfNeeded", "NoReboot"], "default": "RebootIfNeeded"}
                },
                "mainSteps": [{"precondition": {"StringEquals": ["platformType", "Linux"]}, "action": "aws:runShellScript", "name": "PatchLinux", "inputs": {"runCommand": ["# patch baseline scan or install"]}}]
            }),
        },
        AwsDocument {
            name: "AWS-UpdateSSMAgent",
            document_type: "Command",
            target_type: Some("/AWS::EC2::Instance"),
            content: json!({
                "schemaVersion": "1.2",
                "description": "Update the Amazon SSM Agent to the specified version or the latest version.",
                "parameters": {
                    "version": {"default": "", "description": "(Optional) A specific version of the Amazon SSM Agent to install. If not specified, the agent will be updated to the latest version.", "type": "String"},
                    "allowDowngrade": {"default": "false", "description": "(Optional) Allow the Amazon SSM Agent service to be downgraded to an earlier version.", "type": "String", "allowedValues": ["true", "false"]}
                },
                "runtimeConfig": {"aws:updateSsmAgent": {"properties": [{"agentName": "amazon-ssm-agent", "source": "https://s3.{Region}.amazonaws.com/amazon-ssm-{Region}/ssm-agent-manifest.json", "allowDowngrade": "{{ allowDowngrade }}", "targetVersion": "{{ version }}"}]}}
            }),
        },
        AwsDocument {
            name: "AWS-ConfigureAWSPackage",
            document_type: "Command",
            target_type: Some("/AWS::EC2::Instance"),
            content: json!({
                "schemaVersion": "2.0",
                "description": "Install or uninstall a Distributor package.",
                "parameters": {
                    "action": {"description": "(Required) Specify whether or not to install or uninstall the package.", "type": "String", "allowedValues": ["Install", "Uninstall"]},
                    "name": {"description": "(Required) The package to install/uninstall.", "type": "String", "allowedPattern": "^arn:[a-z0-9][-.a-z0-9]{0,62}:[a-z0-9][-.a-z0-9]{0,62}:([a-z0-9][-.a-z0-9]{0,62})?:([a-z0-9][-.a-z0-9]{0,62})?:(package|document)\\/[a-zA-Z0-9/:.\\-_]{1,128}$|^[a-zA-Z0-9/:.\\-_]{1,128}$"},
                    "version": {"description": "(Optional) The version of the package to install or uninstall.", "type": "String", "default": ""}
                },
                "mainSteps": [{"action": "aws:configurePackage", "name": "configurePackage", "inputs": {"name": "{{ name }}", "action": "{{ action }}", "version": "{{ version }}"}}]
            }),
        },
        automation("AWS-StopEC2Instance", "Stop EC2 instances", "stopped"),
        automation("AWS-StartEC2Instance", "Start EC2 instances", "running"),
        automation("AWS-RestartEC2Instance", "Restart EC2 instances", "running"),
        session(
            "AWS-StartPortForwardingSession",
            "Document to start port forwarding session over Session Manager",
            "Port",
        ),
        AwsDocument {
            name: "AWS-StartInteractiveCommand",
            document_type: "Session",
            target_type: None,
            content: json!({
                "schemaVersion": "1.0",
                "description": "Document to run single interactive command on an instance",
                "sessionType": "InteractiveCommands",
                "parameters": {"command": {"type": "String", "description": "The command to run on the instance"}},
                "properties": {"linux": {"commands": "{{command}}", "runAsElevated": false}, "windows": {"commands": "{{command}}", "runAsElevated": false}}
            }),
        },
        AwsDocument {
            name: "SSM-SessionManagerRunShell",
            document_type: "Session",
            target_type: None,
            content: json!({
                "schemaVersion": "1.0",
                "description": "Document to hold regional settings for Session Manager",
                "sessionType": "Standard_Stream",
                "inputs": {"s3BucketName": "", "s3KeyPrefix": "", "s3EncryptionEnabled": true, "cloudWatchLogGroupName": "", "cloudWatchEncryptionEnabled": true, "idleSessionTimeout": "20", "kmsKeyId": "", "runAsEnabled": false, "runAsDefaultUser": "", "shellProfile": {"windows": "", "linux": ""}}
            }),
        },
    ]
}

pub fn find(name: &str) -> Option<AwsDocument> {
    all().into_iter().find(|d| d.name == name)
}
