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
	"slices"
	"strconv"
	"strings"
	"sync"
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
// work, such as those of SQSClient and SNSClient. The proxy also refuses what SQS
// refuses and goaws takes: a message over its queue's MaximumMessageSize (body and
// attributes counted, as SQS counts them), and SendMessageBatch calls with no entry,
// more than 10, entry ids that repeat or that SQS would not take, or more than 1 MiB in
// all; it makes SendMessageBatch one goaws SendMessage per entry, so that message
// attributes are kept (goaws's own SendMessageBatch drops them).
//
// goaws is not SQS; tests must mind that
//   - ReceiveMessage ignores VisibilityTimeout: set the queue's instead (CreateQueue),
//     and expect hidden messages back on goaws's 1s tick, not to the millisecond;
//   - ApproximateNumberOfMessages counts the hidden messages too;
//   - what SNS delivers to a subscribed queue is not held to the proxy's limits;
//   - the entries of a SendMessageBatch reach the queue one after the other;
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
	// start with goaws's defaults: a 30s visibility timeout and no long polling; and
	// with SQS's MaximumMessageSize, which the proxy enforces (goaws counts the body
	// only, and answers with another error).
	yaml := fmt.Sprintf(`Local:
  Host: 127.0.0.1
  Port: "%d"
  Region: %s
  AccountId: "%s"
  LogToFile: false
  QueueAttributeDefaults:
    VisibilityTimeout: 30
    ReceiveMessageWaitTimeSeconds: 0
    MaximumMessageSize: %d
`, port, Region, GoAWSAccountID, sqsDefaultMaxMessageSize)
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

// QueueDepth returns how many messages the queue at url holds, visible or not: goaws's
// ApproximateNumberOfMessages, which counts the hidden ones too.
func QueueDepth(t TB, client *sqs.Client, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := types.QueueAttributeNameApproximateNumberOfMessages
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{name},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes of %s: %v", url, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(name)])
	if err != nil {
		t.Fatalf("%s of %s: %v", name, url, err)
	}
	return n
}

// WaitQueueEmpty waits up to 5s for the queue at url to hold no message.
func WaitQueueEmpty(t TB, client *sqs.Client, url string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); QueueDepth(t, client, url) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still holds %d messages after 5s", url, QueueDepth(t, client, url))
		}
	}
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
	proxy := &sqsProxy{client: client, maxSize: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
		if !ok {
			passthrough.ServeHTTP(w, r)
			return
		}
		proxy.serve(w, r, op)
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

// sqsProxy makes the SQS calls it serves to goaws, adding the limits of SQS that goaws
// lacks.
type sqsProxy struct {
	client *sqs.Client

	mu sync.Mutex
	// maxSize is the MaximumMessageSize of each queue made through the proxy, by name.
	maxSize map[string]int
}

func (p *sqsProxy) serve(w http.ResponseWriter, r *http.Request, op string) {
	do, ok := sqsCalls[op]
	switch op {
	case "CreateQueue":
		do = p.createQueue
	case "SetQueueAttributes":
		do = p.setQueueAttributes
	case "GetQueueAttributes":
		do = p.getQueueAttributes
	case "DeleteQueue":
		do = p.deleteQueue
	case "SendMessage":
		do = p.sendMessage
	case "SendMessageBatch":
		do = p.sendMessageBatch
	}
	if !ok {
		writeSQSError(w, http.StatusBadRequest, "UnsupportedOperation", "UnsupportedOperation", "goaws does not implement "+op)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client is gone
	}
	out, err := do(r.Context(), p.client, body)
	if err != nil {
		if r.Context().Err() != nil {
			return // a long poll the client gave up
		}
		var sqsErr *sqsError
		if errors.As(err, &sqsErr) {
			writeSQSError(w, sqsErr.status, sqsErr.shape, sqsErr.code, sqsErr.message)
			return
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
		writeSQSError(w, status, code, code, msg)
		return
	}
	b, err := json.Marshal(out)
	if err == nil {
		b, err = pruneJSON(b)
	}
	if err != nil {
		writeSQSError(w, http.StatusInternalServerError, "InternalFailure", "InternalFailure", "encode the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

// SQS's limits on messages and batches, which the proxy enforces.
const (
	// "MaximumMessageSize – The limit of how many bytes a message can contain before
	// Amazon SQS rejects it. Valid values: An integer from 1,024 bytes (1 KiB) to
	// 1,048,576 bytes (1 MiB). Default: 1,048,576 bytes (1 MiB)." (CreateQueue, Amazon
	// SQS API Reference,
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html)
	sqsMinMaxMessageSize     = 1024
	sqsDefaultMaxMessageSize = 1 << 20
	// "You can use SendMessageBatch to send up to 10 messages [...]. The maximum allowed
	// individual message size and the maximum total payload size (the sum of the
	// individual lengths of all of the batched messages) are both 1 MiB (1,048,576
	// bytes)." (SendMessageBatch, Amazon SQS API Reference,
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html)
	sqsMaxBatchEntries = 10
	sqsMaxBatchBytes   = 1 << 20
	// "A batched message ID can have up to 80 characters. The following characters are
	// accepted: alphanumeric characters, hyphens (-), and underscores (_)." (Amazon SQS
	// message quotas, Amazon SQS Developer Guide,
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html)
	sqsMaxBatchEntryID = 80
)

// sqsError is an error as SQS answers it in the JSON protocol: the HTTP status, the
// error's shape in the body's __type, and its query code in the x-amzn-query-error
// header ("Interpreting Amazon SQS JSON API responses", Amazon SQS Developer Guide,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
type sqsError struct {
	status               int
	shape, code, message string
}

func (e *sqsError) Error() string { return e.code + ": " + e.message }

// The errors of the limits, with the HTTP status, shape and query code of SQS's API
// Reference (SendMessageBatch's Errors, and Common Errors for InvalidParameterValue:
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html),
// and the messages SQS sends.
func errMessageTooLong(max int) *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazon.coral.service#InvalidParameterValueException", "InvalidParameterValue",
		fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", max)}
}

func errEmptyBatch() *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
		"There should be at least one SendMessageBatchRequestEntry in the request."}
}

func errTooManyEntries(n int) *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", sqsMaxBatchEntries, n)}
}

func errBatchEntryID() *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
		fmt.Sprintf("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most %d letters long.", sqsMaxBatchEntryID)}
}

func errIDsNotDistinct(id string) *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
		fmt.Sprintf("Id %s repeated.", id)}
}

func errBatchTooLong(n int) *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
		fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", sqsMaxBatchBytes, n)}
}

func errMaxMessageSize(v string) *sqsError {
	return &sqsError{http.StatusBadRequest, "com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue",
		fmt.Sprintf("Invalid value for the parameter MaximumMessageSize: %q.", v)}
}

// decode reads the JSON input of a call.
func decode[I any](body []byte) (*I, error) {
	in := new(I)
	if err := json.Unmarshal(body, in); err != nil {
		return nil, &sqsError{http.StatusBadRequest, "SerializationException", "SerializationException", err.Error()}
	}
	return in, nil
}

// sqsMessageSize is what SQS counts against a queue's MaximumMessageSize: "All parts of
// the message attribute, including Name, Type, and Value, are part of the message size
// restriction" (MessageAttributeValue, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html).
func sqsMessageSize(body *string, attrs map[string]types.MessageAttributeValue) int {
	n := len(aws.ToString(body))
	for name, v := range attrs {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// queueName returns the name of the queue at url: its last path segment, as goaws reads it.
func queueName(url *string) string {
	u := aws.ToString(url)
	return u[strings.LastIndex(u, "/")+1:]
}

// maxMessageSize returns the MaximumMessageSize of the queue at url.
func (p *sqsProxy) maxMessageSize(url *string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.maxSize[queueName(url)]; ok {
		return n
	}
	return sqsDefaultMaxMessageSize
}

// parseMaxMessageSize returns the MaximumMessageSize that attrs set, if any.
func parseMaxMessageSize(attrs map[string]string) (int, bool, error) {
	v, ok := attrs[string(types.QueueAttributeNameMaximumMessageSize)]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < sqsMinMaxMessageSize || n > sqsDefaultMaxMessageSize {
		return 0, false, errMaxMessageSize(v)
	}
	return n, true, nil
}

func (p *sqsProxy) createQueue(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.CreateQueueInput](body)
	if err != nil {
		return nil, err
	}
	size, set, err := parseMaxMessageSize(in.Attributes)
	if err != nil {
		return nil, err
	}
	out, err := client.CreateQueue(ctx, in)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, exists := p.maxSize[aws.ToString(in.QueueName)]; !exists {
		if !set {
			size = sqsDefaultMaxMessageSize
		}
		p.maxSize[aws.ToString(in.QueueName)] = size
	}
	return out, nil
}

func (p *sqsProxy) setQueueAttributes(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.SetQueueAttributesInput](body)
	if err != nil {
		return nil, err
	}
	size, set, err := parseMaxMessageSize(in.Attributes)
	if err != nil {
		return nil, err
	}
	out, err := client.SetQueueAttributes(ctx, in)
	if err == nil && set {
		p.mu.Lock()
		p.maxSize[queueName(in.QueueUrl)] = size
		p.mu.Unlock()
	}
	return out, err
}

// getQueueAttributes adds MaximumMessageSize, which goaws does not return.
func (p *sqsProxy) getQueueAttributes(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.GetQueueAttributesInput](body)
	if err != nil {
		return nil, err
	}
	out, err := client.GetQueueAttributes(ctx, in)
	if err != nil {
		return nil, err
	}
	if slices.Contains(in.AttributeNames, types.QueueAttributeNameAll) ||
		slices.Contains(in.AttributeNames, types.QueueAttributeNameMaximumMessageSize) {
		if out.Attributes == nil {
			out.Attributes = map[string]string{}
		}
		out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)] = strconv.Itoa(p.maxMessageSize(in.QueueUrl))
	}
	return out, nil
}

func (p *sqsProxy) deleteQueue(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.DeleteQueueInput](body)
	if err != nil {
		return nil, err
	}
	out, err := client.DeleteQueue(ctx, in)
	if err == nil {
		p.mu.Lock()
		delete(p.maxSize, queueName(in.QueueUrl))
		p.mu.Unlock()
	}
	return out, err
}

func (p *sqsProxy) sendMessage(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.SendMessageInput](body)
	if err != nil {
		return nil, err
	}
	if max := p.maxMessageSize(in.QueueUrl); sqsMessageSize(in.MessageBody, in.MessageAttributes) > max {
		return nil, errMessageTooLong(max)
	}
	return client.SendMessage(ctx, in)
}

// sendMessageBatch checks the batch as SQS does, then sends each entry with one
// SendMessage: goaws's own SendMessageBatch drops message attributes. As with SQS, an
// entry over the queue's MaximumMessageSize fails alone, in the Failed list.
func (p *sqsProxy) sendMessageBatch(ctx context.Context, client *sqs.Client, body []byte) (any, error) {
	in, err := decode[sqs.SendMessageBatchInput](body)
	if err != nil {
		return nil, err
	}
	if err := checkBatch(in.Entries); err != nil {
		return nil, err
	}
	max := p.maxMessageSize(in.QueueUrl)
	out := &sqs.SendMessageBatchOutput{Successful: []types.SendMessageBatchResultEntry{}, Failed: []types.BatchResultErrorEntry{}}
	for _, e := range in.Entries {
		if sqsMessageSize(e.MessageBody, e.MessageAttributes) > max {
			tooLong := errMessageTooLong(max)
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{
				Id: e.Id, Code: aws.String(tooLong.code), Message: aws.String(tooLong.message), SenderFault: true,
			})
			continue
		}
		sent, err := client.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: in.QueueUrl, MessageBody: e.MessageBody, MessageAttributes: e.MessageAttributes,
			MessageSystemAttributes: e.MessageSystemAttributes, DelaySeconds: e.DelaySeconds,
			MessageGroupId: e.MessageGroupId, MessageDeduplicationId: e.MessageDeduplicationId,
		})
		var apiErr smithy.APIError
		switch {
		case err == nil:
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{
				Id: e.Id, MessageId: sent.MessageId, MD5OfMessageBody: sent.MD5OfMessageBody,
				MD5OfMessageAttributes: sent.MD5OfMessageAttributes, MD5OfMessageSystemAttributes: sent.MD5OfMessageSystemAttributes,
				SequenceNumber: sent.SequenceNumber,
			})
		case ctx.Err() != nil:
			return nil, err
		case errors.As(err, new(*types.QueueDoesNotExist)):
			return nil, err // the first entry's: nothing was sent
		case errors.As(err, &apiErr):
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{
				Id: e.Id, Code: aws.String(apiErr.ErrorCode()), Message: aws.String(apiErr.ErrorMessage()),
				SenderFault: apiErr.ErrorFault() == smithy.FaultClient,
			})
		default:
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{
				Id: e.Id, Code: aws.String("InternalError"), Message: aws.String(err.Error()),
			})
		}
	}
	return out, nil
}

// checkBatch refuses a whole batch as SQS does: no entry, too many, an entry id SQS
// does not take or that repeats, or more bytes than a batch may hold.
func checkBatch(entries []types.SendMessageBatchRequestEntry) error {
	switch {
	case len(entries) == 0:
		return errEmptyBatch()
	case len(entries) > sqsMaxBatchEntries:
		return errTooManyEntries(len(entries))
	}
	ids := map[string]bool{}
	total := 0
	for _, e := range entries {
		id := aws.ToString(e.Id)
		if !validBatchEntryID(id) {
			return errBatchEntryID()
		}
		if ids[id] {
			return errIDsNotDistinct(id)
		}
		ids[id] = true
		total += sqsMessageSize(e.MessageBody, e.MessageAttributes)
	}
	if total > sqsMaxBatchBytes {
		return errBatchTooLong(total)
	}
	return nil
}

func validBatchEntryID(id string) bool {
	if id == "" || len(id) > sqsMaxBatchEntryID {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
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

// writeSQSError writes an error as the JSON protocol does: its shape in __type, and the
// query code that query-compatible clients read.
func writeSQSError(w http.ResponseWriter, status int, shape, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": shape, "message": msg})
}
