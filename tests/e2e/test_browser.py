"""The resource browser (GET / in a browser, docs/browser.md) driven in a
real headless Chromium with Selenium, and its JSON API
(/_ministack/resources) read directly.

`make test` installs the browser first (scripts/install-browser.sh); the
browser test is skipped, saying why, only when none could be installed.
The screenshot lands in target/test-browser/browser.png (docs/browser.png
is a copy of one)."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "test-browser"


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
