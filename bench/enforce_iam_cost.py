# Run: python3 bench/enforce_iam_cost.py  (N=requests per case, REPS=runs, OUT=markdown file to append to;
# needs target/release/ministack; `make bench` runs it)
"""Server CPU per request with and without ENFORCE_IAM=1 (utime+stime of the
gateway process from /proc/<pid>/stat over N requests)."""
import os, sys, json, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'e2e'))
from conftest import Gateway
import boto3
from botocore.config import Config

N = int(os.environ.get("N", "400"))
TICK = os.sysconf("SC_CLK_TCK")

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK

def cl(g, svc, key, secret="test"):
    return boto3.client(svc, endpoint_url=g.url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))

def run(env):
    g = Gateway(env=env)
    try:
        A = "111111111111"
        iam = cl(g, "iam", A)
        iam.create_user(UserName="u")
        k = iam.create_access_key(UserName="u")["AccessKey"]
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
        url = cl(g, "sqs", A).create_queue(QueueName="q")["QueueUrl"]
        # SNS -> SQS: under ENFORCE_IAM the delivery is authorized too (the
        # queue's policy must allow sns.amazonaws.com for the topic).
        sns = cl(g, "sns", A)
        topic = sns.create_topic(Name="t")["TopicArn"]
        sub_url = cl(g, "sqs", A).create_queue(QueueName="from-sns")["QueueUrl"]
        sub_arn = f"arn:aws:sqs:us-east-1:{A}:from-sns"
        cl(g, "sqs", A).set_queue_attributes(QueueUrl=sub_url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": sub_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn)
        cases = {
            "sts GetCallerIdentity (root)": (cl(g, "sts", A), lambda c: c.get_caller_identity()),
            "sqs SendMessage (root)": (cl(g, "sqs", A), lambda c: c.send_message(QueueUrl=url, MessageBody="x")),
            "sqs SendMessage (IAM user)": (cl(g, "sqs", k["AccessKeyId"], k["SecretAccessKey"]), lambda c: c.send_message(QueueUrl=url, MessageBody="x")),
            "sns Publish to one SQS subscription (root)": (sns, lambda c: c.publish(TopicArn=topic, Message="x")),
        }
        out = {}
        for name, (c, f) in cases.items():
            for _ in range(30):
                f(c)
            t0, w0 = cpu(g.proc.pid), time.time()
            for _ in range(N):
                f(c)
            out[name] = ((cpu(g.proc.pid) - t0) / N * 1e6, (time.time() - w0) / N * 1e6)
        return out
    finally:
        g.close()

rows = {}
for rep in range(int(os.environ.get("REPS", "2"))):
    off = run({})
    on = run({"ENFORCE_IAM": "1"})
    for name in off:
        print(f"{name}: off {off[name][0]:.0f} us CPU ({off[name][1]:.0f} us wall), on {on[name][0]:.0f} us CPU ({on[name][1]:.0f} us wall)")
        rows.setdefault(name, []).append((off[name][0], on[name][0]))

# With OUT=<file> (bench/run.sh passes BENCHMARKS.md), the table is appended.
if os.environ.get("OUT"):
    span = lambda xs: f"{min(xs):.0f}" if round(min(xs)) == round(max(xs)) else f"{min(xs):.0f}\u2013{max(xs):.0f}"
    with open(os.environ["OUT"], "a") as f:
        f.write("\n## ENFORCE_IAM=1: gateway CPU per request\n\n")
        f.write(f"bench/enforce_iam_cost.py: utime+stime of the gateway over {N} sequential boto3 requests per case, "
                f"{len(next(iter(rows.values())))} runs (docs/security.md explains the cases).\n\n")
        f.write("| Request | off (us) | on (us) |\n|---|---|---|\n")
        for name, r in rows.items():
            f.write(f"| {name} | {span([a for a, _ in r])} | {span([b for _, b in r])} |\n")
