package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqsschemas "github.com/aws/aws-sdk-go-v2/service/sqs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// GoAWSInstall is the command that installs goaws as $(go env GOPATH)/bin/cmd, where
// GoAWS looks for it.
const GoAWSInstall = "go install github.com/Admiral-Piett/goaws/app/cmd@v0.4.5"

// GoAWSAccountID is the account of goaws's queue URLs and ARNs.
const GoAWSAccountID = "100010001000"

// GoAWS starts goaws, an in-memory SQS and SNS emulator, until the test ends, and
// returns the endpoint URL of both services, such as http://127.0.0.1:41234. It runs
// $(go env GOPATH)/bin/cmd, or the binary that the environment variable GOAWS_BIN
// names; a test that misses it fails, naming the command that installs it.
//
// goaws v0.4.5 speaks only the query protocol, and the SDK's SQS client speaks AWS JSON
// 1.0: the endpoint is a proxy that replays SQS calls to goaws in the query protocol and
// passes every other request (SNS, which still speaks query) through. Plain clients
// work, such as those of SQSClient and SNSClient.
//
// goaws is not SQS; tests must mind that
//   - ReceiveMessage ignores VisibilityTimeout: set the queue's instead (CreateQueue),
//     and expect hidden messages back on goaws's 1s tick, not to the millisecond;
//   - ApproximateNumberOfMessages counts the hidden messages too;
//   - SendMessageBatch drops message attributes;
//   - the MessageId that SNS Publish returns is not the one of the envelope a
//     subscribed queue gets;
//   - queue URLs name goaws's own port, not the endpoint: pass them as QueueUrl only.
func GoAWS(t TB) string {
	t.Helper()
	bin := os.Getenv("GOAWS_BIN")
	if bin == "" {
		bin = filepath.Join(goPath(), "bin", "cmd")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("goaws is not installed (%v): run `%s`, or set GOAWS_BIN to its binary", err, GoAWSInstall)
	}
	port := FreePort(t)
	conf := filepath.Join(t.TempDir(), "goaws.yaml")
	// Host names the queue URLs; Port is both the listening port and theirs. Queues
	// start with goaws's defaults: a 30s visibility timeout and no long polling.
	yaml := fmt.Sprintf(`Local:
  Host: 127.0.0.1
  Port: "%d"
  Region: %s
  AccountId: "%s"
  LogToFile: false
  QueueAttributeDefaults:
    VisibilityTimeout: 30
    ReceiveMessageWaitTimeSeconds: 0
`, port, Region, GoAWSAccountID)
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	Start(t, "goaws", exec.Command(bin, "-config", conf, "Local"), port)
	return goAWSProxy(t, fmt.Sprintf("http://127.0.0.1:%d", port))
}

// goPath returns the first folder of `go env GOPATH`, where go install puts binaries.
func goPath() string {
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return build.Default.GOPATH
	}
	return filepath.SplitList(strings.TrimSpace(string(out)))[0]
}

// SQSClient returns an SQS client of the emulator at endpoint, such as the one GoAWS
// returns, with the static test credentials of Config.
func SQSClient(endpoint string) *sqs.Client {
	return sqs.NewFromConfig(Config(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// SNSClient returns an SNS client of the emulator at endpoint, such as the one GoAWS
// returns, with the static test credentials of Config.
func SNSClient(endpoint string) *sns.Client {
	return sns.NewFromConfig(Config(), func(o *sns.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// CreateQueue creates the queue name with attributes, such as "VisibilityTimeout": "1"
// (seconds), and returns its URL.
func CreateQueue(t TB, client *sqs.Client, name string, attributes map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attributes})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// CreateTopic creates the topic name and returns its ARN.
func CreateTopic(t TB, client *sns.Client, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return aws.ToString(out.TopicArn)
}

// SubscribeQueue subscribes the queue at queueURL to the topic topicARN. Without raw
// delivery the queue gets each message in an SNS envelope; with it, the bare message.
func SubscribeQueue(t TB, snsClient *sns.Client, sqsClient *sqs.Client, topicARN, queueURL string, raw bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("get the ARN of %s: %v", queueURL, err)
	}
	_, err = snsClient.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:   aws.String(topicARN),
		Protocol:   aws.String("sqs"),
		Endpoint:   aws.String(attrs.Attributes[string(types.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{"RawMessageDelivery": fmt.Sprint(raw)},
	})
	if err != nil {
		t.Fatalf("subscribe %s to %s: %v", queueURL, topicARN, err)
	}
}

// goAWSProxy serves the SQS calls of the JSON protocol by making them to goaws with an
// SQS client of the query protocol, and passes every other request to goaws.
func goAWSProxy(t TB, goaws string) string {
	target, err := url.Parse(goaws)
	if err != nil {
		t.Fatal(err)
	}
	passthrough := httputil.NewSingleHostReverseProxy(target)
	client := sqs.NewFromConfig(Config(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(goaws)
		o.Protocol = awsquery.New(sqsschemas.AmazonSQS)
		o.Retryer = aws.NopRetryer{} // the caller's client retries
		o.HTTPClient = &http.Client{Transport: bufferedTransport{http.DefaultTransport}}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
		if !ok {
			passthrough.ServeHTTP(w, r)
			return
		}
		serveSQS(w, r, client, op)
	}))
	t.Cleanup(func() {
		// Long polls in flight would hold Close for their whole wait.
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// bufferedTransport reads each goaws response whole before the SDK deserializes it.
// Through the SDK's own HTTP client, under load (go test -race ./... on two cores), the
// query deserializer now and then failed on a large ReceiveMessage response with "use
// of closed network connection"; goaws had already hidden the messages, so they were
// gone for the queue's visibility timeout and a test waiting for them failed. Read by
// this transport, it was not seen again in 96 runs, where it had failed one in thirty.
type bufferedTransport struct{ next http.RoundTripper }

func (b bufferedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the goaws response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// sqsCall makes one SQS call from the JSON body of its request.
type sqsCall func(ctx context.Context, client *sqs.Client, body []byte) (any, error)

// call adapts an SQS client method to sqsCall. The SDK's input and output structs carry
// the protocol's member names, so encoding/json reads and writes them.
func call[I, O any](method func(*sqs.Client, context.Context, *I, ...func(*sqs.Options)) (*O, error)) sqsCall {
	return func(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
		in := new(I)
		if err := json.Unmarshal(body, in); err != nil {
			return nil, &smithy.GenericAPIError{Code: "SerializationException", Message: err.Error()}
		}
		return method(client, ctx, in)
	}
}

// sqsCalls are the operations goaws v0.4.5 implements.
var sqsCalls = map[string]sqsCall{
	"ListQueues":              call((*sqs.Client).ListQueues),
	"CreateQueue":             call((*sqs.Client).CreateQueue),
	"GetQueueUrl":             call((*sqs.Client).GetQueueUrl),
	"GetQueueAttributes":      call((*sqs.Client).GetQueueAttributes),
	"SetQueueAttributes":      call((*sqs.Client).SetQueueAttributes),
	"PurgeQueue":              call((*sqs.Client).PurgeQueue),
	"DeleteQueue":             call((*sqs.Client).DeleteQueue),
	"SendMessage":             call((*sqs.Client).SendMessage),
	"SendMessageBatch":        call((*sqs.Client).SendMessageBatch),
	"ReceiveMessage":          call((*sqs.Client).ReceiveMessage),
	"DeleteMessage":           call((*sqs.Client).DeleteMessage),
	"DeleteMessageBatch":      call((*sqs.Client).DeleteMessageBatch),
	"ChangeMessageVisibility": call((*sqs.Client).ChangeMessageVisibility),
}

func serveSQS(w http.ResponseWriter, r *http.Request, client *sqs.Client, op string) {
	do, ok := sqsCalls[op]
	if !ok {
		writeSQSError(w, http.StatusBadRequest, "UnsupportedOperation", "goaws does not implement "+op)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client is gone
	}
	out, err := do(r.Context(), client, body)
	if err != nil {
		if r.Context().Err() != nil {
			return // a long poll the client gave up
		}
		status, code, msg := http.StatusBadGateway, "InternalFailure", err.Error()
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			status, code, msg = http.StatusBadRequest, apiErr.ErrorCode(), apiErr.ErrorMessage()
		}
		var respErr *smithyhttp.ResponseError
		if errors.As(err, &respErr) {
			status = respErr.HTTPStatusCode()
		}
		writeSQSError(w, status, code, msg)
		return
	}
	b, err := json.Marshal(out)
	if err == nil {
		b, err = pruneJSON(b)
	}
	if err != nil {
		writeSQSError(w, http.StatusInternalServerError, "InternalFailure", "encode the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

// pruneJSON drops the nulls of nil members and the SDK's ResultMetadata, neither of
// which SQS sends.
func pruneJSON(b []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	var prune func(v any) any
	prune = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "ResultMetadata")
			for k, x := range v {
				if x == nil {
					delete(v, k)
				} else {
					v[k] = prune(x)
				}
			}
		case []any:
			for i, x := range v {
				v[i] = prune(x)
			}
		}
		return v
	}
	return json.Marshal(prune(v))
}

// writeSQSError writes an error as the JSON protocol does, with the query code that
// query-compatible clients read.
func writeSQSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
