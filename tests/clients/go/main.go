// The AWS SDK for Go v2, as Debian packages it (golang-github-aws-aws-sdk-go-v2-dev,
// built in GOPATH mode: no module proxy), against a running gateway. That
// release predates the SDK's own AWS_ENDPOINT_URL support, so the endpoint
// is read here and given as a resolver, as programs of its time did. Each
// check prints "ok <name>"; a failure exits 1 (tests/e2e/test_client_go.py).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

func check(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func expect(ok bool, format string, args ...any) {
	if !ok {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(1)
	}
}

func main() {
	ctx := context.Background()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	expect(endpoint != "", "AWS_ENDPOINT_URL is not set")
	resolver := aws.EndpointResolverWithOptionsFunc(func(service, region string, _ ...any) (aws.Endpoint, error) {
		return aws.Endpoint{URL: endpoint, HostnameImmutable: true, SigningRegion: region}, nil
	})
	cfg, err := config.LoadDefaultConfig(ctx, config.WithEndpointResolverWithOptions(resolver))
	check(err, "config")
	run := fmt.Sprintf("go%d", os.Getpid())

	// S3: a SHA-256 checksum stored and validated on the way back.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := run + "-bucket"
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	check(err, "CreateBucket")
	body := bytes.Repeat([]byte("hello from go "), 500)
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("a.txt"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
	})
	check(err, "PutObject")
	expect(put.ChecksumSHA256 != nil, "no SHA-256 answered")
	got, err := s3c.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &bucket, Key: aws.String("a.txt"), ChecksumMode: s3types.ChecksumModeEnabled,
	})
	check(err, "GetObject")
	read, err := io.ReadAll(got.Body)
	check(err, "GetObject body (checksum validated while read)")
	expect(bytes.Equal(read, body), "object bytes differ")
	expect(aws.ToString(got.ChecksumSHA256) == aws.ToString(put.ChecksumSHA256), "SHA-256 %v != %v",
		aws.ToString(got.ChecksumSHA256), aws.ToString(put.ChecksumSHA256))
	fmt.Println("ok s3 put/get with checksums")
	_, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("missing")})
	var noKey *s3types.NoSuchKey
	expect(errors.As(err, &noKey), "want NoSuchKey, got %v", err)
	fmt.Println("ok s3 typed NoSuchKey")

	// DynamoDB: put/get/query, a failed condition as its typed error.
	ddb := dynamodb.NewFromConfig(cfg)
	table := run + "-table"
	_, err = ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   &table,
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
	})
	check(err, "CreateTable")
	for n := 1; n <= 3; n++ {
		_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]ddbtypes.AttributeValue{
			"pk":   &ddbtypes.AttributeValueMemberS{Value: "user"},
			"sk":   &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(n)},
			"tags": &ddbtypes.AttributeValueMemberSS{Value: []string{"a", fmt.Sprintf("t%d", n)}},
		}})
		check(err, "PutItem")
	}
	item, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "user"},
			"sk": &ddbtypes.AttributeValueMemberN{Value: "2"},
		}})
	check(err, "GetItem")
	tags, _ := item.Item["tags"].(*ddbtypes.AttributeValueMemberSS)
	expect(tags != nil && len(tags.Value) == 2, "tags: %#v", item.Item["tags"])
	page, err := ddb.Query(ctx, &dynamodb.QueryInput{
		TableName: &table, KeyConditionExpression: aws.String("pk = :p AND sk > :n"), ScanIndexForward: aws.Bool(false),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":p": &ddbtypes.AttributeValueMemberS{Value: "user"},
			":n": &ddbtypes.AttributeValueMemberN{Value: "1"},
		},
	})
	check(err, "Query")
	var order []string
	for _, i := range page.Items {
		order = append(order, i["sk"].(*ddbtypes.AttributeValueMemberN).Value)
	}
	expect(fmt.Sprint(order) == "[3 2]", "query order %v", order)
	fmt.Println("ok dynamodb put/get/query")
	_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "user"},
			"sk": &ddbtypes.AttributeValueMemberN{Value: "1"},
		}})
	var failed *ddbtypes.ConditionalCheckFailedException
	expect(errors.As(err, &failed), "want ConditionalCheckFailedException, got %v", err)
	fmt.Println("ok dynamodb typed ConditionalCheckFailedException")

	// SQS: this SDK release speaks the query protocol (XML answers).
	q := sqs.NewFromConfig(cfg)
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(run + "-queue")})
	check(err, "CreateQueue")
	_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: created.QueueUrl, MessageBody: aws.String("from go"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("greeting")},
		}})
	check(err, "SendMessage (MD5s checked by the SDK)")
	recv, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, WaitTimeSeconds: 1,
		MessageAttributeNames: []string{"All"}})
	check(err, "ReceiveMessage")
	expect(len(recv.Messages) == 1, "messages: %d", len(recv.Messages))
	m := recv.Messages[0]
	expect(aws.ToString(m.Body) == "from go", "body %q", aws.ToString(m.Body))
	expect(aws.ToString(m.MessageAttributes["kind"].StringValue) == "greeting", "attribute missing")
	_, err = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: m.ReceiptHandle})
	check(err, "DeleteMessage")
	fmt.Println("ok sqs send/receive/delete")
	_, err = q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(run + "-missing")})
	var missing *sqstypes.QueueDoesNotExist
	var api smithy.APIError
	expect(errors.As(err, &missing) && errors.As(err, &api), "want QueueDoesNotExist, got %v", err)
	fmt.Println("ok sqs typed QueueDoesNotExist " + api.ErrorCode())
}
