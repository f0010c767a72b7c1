"""The resource browser (GET / in a browser, docs/browser.md) driven in a
real headless Chromium with Selenium, and its JSON API
(/_ministack/resources) read directly.

`make test` installs the browser first (scripts/install-browser.sh); the
browser test is skipped, saying why, only when none could be installed.
The screenshot lands in target/test-browser/browser.png (docs/browser.png
is a copy of one)."""

import base64
import io
import json
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "test-browser"

GREETER = """
def handler(event, context):
    print("greeting", event.get("name"))
    return {"hello": event.get("name")}
"""

# Start -> Decide -> (Big | Small) -> Done: a run with n=5 goes through Big.
FLOW = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Next": "Decide"},
        "Decide": {"Type": "Choice", "Default": "Small",
                   "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}]},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Done"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def function_zip(code):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", code)
    return buf.getvalue()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from conftest import Gateway

    g = Gateway()
    s3 = g.client("s3")
    s3.create_bucket(Bucket="photos")
    s3.put_object(Bucket="photos", Key="cat.txt", Body=b"a cat, in text")
    s3.put_object(Bucket="photos", Key="albums/2026/summer.txt", Body=b"sun")
    s3.create_bucket(Bucket="invoices")
    sqs = g.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    for i in (1, 2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": i, "item": "book"}))
    ddb = g.client("dynamodb")
    ddb.create_table(
        TableName="users", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    for name in ("alice", "bob"):
        ddb.put_item(TableName="users", Item={"id": {"S": name}, "plan": {"S": "pro"}})
    g.client("secretsmanager").create_secret(Name="db-password", SecretString="hunter2-very-secret")
    g.client("ssm").put_parameter(Name="/app/color", Value="blue", Type="String")
    # Another account and region: the browser shows each on its own.
    g.client("sqs", account="111111111111", region="eu-west-1").create_queue(QueueName="elsewhere")
    g.client("lambda").create_function(
        FunctionName="greeter", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
        Handler="app.handler", Code={"ZipFile": function_zip(GREETER)}, Timeout=10)
    logs = g.client("logs")
    logs.create_log_group(logGroupName="/app/web")
    logs.create_log_stream(logGroupName="/app/web", logStreamName="web-1")
    logs.put_log_events(logGroupName="/app/web", logStreamName="web-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "started"}])
    sfn = g.client("stepfunctions")
    machine = sfn.create_state_machine(name="flow", definition=json.dumps(FLOW),
                                       roleArn="arn:aws:iam::000000000000:role/r")["stateMachineArn"]
    g.client("cloudformation").create_stack(StackName="shop", TemplateBody=json.dumps(
        {"Resources": {"Orders": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "shop-orders"}}}}))
    run = sfn.start_execution(stateMachineArn=machine, name="run-big", input=json.dumps({"n": 5}))
    for _ in range(100):
        if sfn.describe_execution(executionArn=run["executionArn"])["status"] != "RUNNING":
            break
        time.sleep(0.1)
    for _ in range(200):
        if g.client("cloudformation").describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"] != "CREATE_IN_PROGRESS":
            break
        time.sleep(0.1)
    yield g, url
    g.close()


def test_api_lists_and_reads(seeded):
    g, url = seeded
    cat = requests.get(g.url + "/_ministack/resources", timeout=10).json()
    kinds = {k["type"]: k for k in cat["kinds"]}
    assert kinds["AWS::S3::Bucket"]["listed_by"] == "ministack:resource-list"
    assert kinds["AWS::SecretsManager::Secret"]["listed_by"] == "ListSecrets"
    assert cat["account"] == "000000000000" and cat["region"] == "us-east-1"

    def listing(t, **scope):
        r = requests.get(g.url + "/_ministack/resources", params={"type": t, **scope}, timeout=10)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["resources"]]

    assert {"photos", "invoices"} <= set(listing("AWS::S3::Bucket"))
    # Queue URLs name the configured host (the gateway asks, not a client).
    (listed,) = listing("AWS::SQS::Queue")
    assert listed.endswith("/000000000000/orders")
    assert [u.rsplit("/", 1)[1] for u in listing("AWS::SQS::Queue", account="111111111111", region="eu-west-1")] == ["elsewhere"]
    assert listing("AWS::SSM::Parameter") == ["/app/color"]

    def read(t, id, action):
        return requests.get(g.url + "/_ministack/resources/read",
                            params={"type": t, "id": id, "action": action}, timeout=10)

    def read_with(t, id, action, **extra):
        r = requests.get(g.url + "/_ministack/resources/read",
                         params={"type": t, "id": id, "action": action, **extra}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    peek = read("AWS::SQS::Queue", listed, "peek").json()
    assert len(peek["Messages"]) == 2
    # Peeked, not consumed: a consumer still gets both at once.
    got = g.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert len(got["Messages"]) == 2
    assert read("AWS::SecretsManager::Secret", "db-password", "value").json()["SecretString"] == "hunter2-very-secret"
    # Only the listed reads: nothing else can be called through the API.
    r = read("AWS::SQS::Queue", listed, "DeleteQueue")
    assert r.status_code == 400 and "has no read" in r.json()["error"]
    r = requests.get(g.url + "/_ministack/resources", params={"type": "AWS::Nope::Thing"}, timeout=10)
    assert r.status_code == 400
    r = read("AWS::DynamoDB::Table", "missing-table", "scan")
    assert r.status_code == 400 and r.json()["code"] == "ResourceNotFoundException"

    # Runs need a POST to /run; a read cannot be run, nor a run read.
    def run(t, id, action, body=b""):
        return requests.post(g.url + "/_ministack/resources/run",
                             params={"type": t, "id": id, "action": action}, data=body, timeout=30)

    assert read("AWS::Lambda::Function", "greeter", "invoke").status_code == 400
    assert run("AWS::SQS::Queue", listed, "peek").status_code == 400
    assert requests.get(g.url + "/_ministack/resources/run", timeout=10).status_code != 200
    out = run("AWS::Lambda::Function", "greeter", "invoke", b'{"name": "api"}').json()
    assert out["StatusCode"] == 200
    assert json.loads(base64.b64decode(out["Payload"])) == {"hello": "api"}
    assert "greeting api" in base64.b64decode(out["LogResult"]).decode()
    # The tail read: events from `since` on.
    events = read_with("AWS::Logs::LogGroup", "/app/web", "tail", since=0)["events"]
    assert [e["message"] for e in events] == ["started"]
    later = events[0]["timestamp"] + 1
    assert read_with("AWS::Logs::LogGroup", "/app/web", "tail", since=later)["events"] == []
    # An execution's history.
    (machine,) = listing("AWS::StepFunctions::StateMachine")
    (execution,) = read("AWS::StepFunctions::StateMachine", machine, "executions").json()["executions"]
    history = read_with("AWS::StepFunctions::StateMachine", machine, "history", execution=execution["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]
    assert entered == ["Start", "Decide", "Big", "Done"]


def browser():
    mark = SHOTS / "unavailable"
    if mark.exists():
        pytest.skip(f"no browser: {mark.read_text().strip()}")
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed (scripts/install-browser.sh installs it)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("chromium/chromedriver not installed (scripts/install-browser.sh installs them as root)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="ministack-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver)
    return webdriver.Chrome(options=opts, service=service), profile


def test_browser_shows_resources(seeded):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    g, url = seeded
    driver, profile = browser()
    wait = WebDriverWait(driver, 15)

    def click(css):
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def text_in(css, text):
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    try:
        driver.get(g.url + "/")
        assert "ministack" in driver.title
        # S3: buckets, then a bucket's objects with working download links.
        click("#kinds a[data-type='AWS::S3::Bucket']")
        click("tr.resource[data-id='photos'] button[data-action='objects']")
        text_in("#objects", "albums/2026/summer.txt")
        link = driver.find_element(By.LINK_TEXT, "cat.txt").get_attribute("href")
        assert requests.get(link, timeout=10).content == b"a cat, in text"

        # SQS: messages peeked.
        click("#kinds a[data-type='AWS::SQS::Queue']")
        click("tr.resource[data-id$='/000000000000/orders'] button[data-action='peek']")
        text_in("#messages", '"order": 1')
        assert len(driver.find_elements(By.CSS_SELECTOR, "#messages tr.message")) == 2

        # Secrets: the value only once asked for.
        click("#kinds a[data-type='AWS::SecretsManager::Secret']")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr.resource[data-id='db-password']")))
        assert "hunter2" not in driver.page_source
        click("tr.resource[data-id='db-password'] button[data-action='value']")
        text_in("#json", "hunter2-very-secret")

        # Another account and region.
        for field, value in (("#account", "111111111111"), ("#region", "eu-west-1")):
            box = driver.find_element(By.CSS_SELECTOR, field)
            box.clear()
            box.send_keys(value)
        click("#kinds a[data-type='AWS::SQS::Queue']")
        text_in("#resources", "/111111111111/elsewhere")
        for field, value in (("#account", "000000000000"), ("#region", "us-east-1")):
            box = driver.find_element(By.CSS_SELECTOR, field)
            box.clear()
            box.send_keys(value)

        # Lambda: invoked from the page, its response and log tail shown.
        click("#kinds a[data-type='AWS::Lambda::Function']")
        click("tr.resource[data-id='greeter'] button[data-action='invoke']")
        box = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#payload")))
        box.clear()
        box.send_keys('{"name": "from the page"}')
        click("#run")
        text_in("#run-payload", '"hello": "from the page"')
        text_in("#run-log", "greeting from the page")
        assert driver.find_element(By.CSS_SELECTOR, "#run-status").text.startswith("Status 200")

        # Logs: a live tail; an event put afterwards appears without a reload.
        click("#kinds a[data-type='AWS::Logs::LogGroup']")
        click("tr.resource[data-id='/app/web'] button[data-action='tail']")
        text_in("#tail", "started")
        g.client("logs").put_log_events(
            logGroupName="/app/web", logStreamName="web-1",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "a new request arrived"}])
        text_in("#tail", "a new request arrived")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#tail tr.event")) == 2
        # Leave the live view.
        click("#kinds a[data-type='AWS::Logs::LogGroup']")

        # Step Functions: the definition as a graph, the states a run
        # went through marked.
        click("#kinds a[data-type='AWS::StepFunctions::StateMachine']")
        # An execution's history is picked from the graph, not the row.
        click("tr.resource[data-id$=':stateMachine:flow'] button[data-action='definition']")
        assert not driver.find_elements(By.CSS_SELECTOR, "tr.resource button[data-action='history']")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#graph g.state[data-state='Small']")))
        states = driver.find_elements(By.CSS_SELECTOR, "#graph g.state")
        assert sorted(e.get_attribute("data-state") for e in states) == ["Big", "Decide", "Done", "Small", "Start"]
        assert len(driver.find_elements(By.CSS_SELECTOR, "#graph path.edge")) == 5
        click("tr.execution[data-name='run-big'] button[data-action='show']")
        text_in("#execution-status", "run-big: SUCCEEDED")
        visited = sorted(e.get_attribute("data-state") for e in driver.find_elements(By.CSS_SELECTOR, "#graph g.state.visited"))
        assert visited == ["Big", "Decide", "Done", "Start"]
        assert "visited" not in driver.find_element(By.CSS_SELECTOR, "#graph g.state[data-state='Small']").get_attribute("class")
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SHOTS / "browser-graph.png"))

        # CloudFormation: a stack's events.
        click("#kinds a[data-type='AWS::CloudFormation::Stack']")
        click("tr.resource[data-id='shop'] button[data-action='events']")
        text_in("#stack-events", "AWS::SNS::Topic")
        statuses = [e.get_attribute("data-status") for e in driver.find_elements(By.CSS_SELECTOR, "#stack-events tr.stack-event")]
        assert "CREATE_COMPLETE" in statuses and "CREATE_IN_PROGRESS" in statuses

        # DynamoDB: the items scanned; the screenshot of this view.
        click("#kinds a[data-type='AWS::DynamoDB::Table']")
        click("tr.resource[data-id='users'] button[data-action='scan']")
        text_in("#json", "alice")
        SHOTS.mkdir(parents=True, exist_ok=True)
        click("#kinds a[data-type='AWS::S3::Bucket']")
        click("tr.resource[data-id='photos'] button[data-action='objects']")
        text_in("#objects", "cat.txt")
        assert driver.save_screenshot(str(SHOTS / "browser.png"))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
