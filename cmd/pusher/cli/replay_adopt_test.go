package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// TestReplayAdopt runs `pusher replay adopt --from` on a queue holding Lambda's record
// of a failed SNS invocation ("Example invocation record",
// docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html, whose
// requestPayload is the SNS event of "Using Lambda with Amazon SNS") and a message of
// no known kind, as an operator would: the summary says one adopted and one left, the
// command fails naming what is left, and `pusher replay list` shows the request at
// decode with where it came from.
func TestReplayAdopt(t *testing.T) {
	s := stacktest.New(t)
	t.Setenv("POISON_QUEUE_URL", s.PoisonURL)
	from := awstest.CreateQueue(t, s.SQS, "p-pusher-async-failures", map[string]string{"VisibilityTimeout": "5"})
	record := `{"version":"1.0","timestamp":"2026-05-30T10:00:05.568Z",
	 "requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:p-pusher:live","condition":"RetriesExhausted","approximateInvokeCount":3},
	 "requestPayload":{"Records":[{"EventVersion":"1.0","EventSubscriptionArn":"arn:aws:sns:us-east-1:123456789012:n:c9135db0","EventSource":"aws:sns",
	   "Sns":{"Type":"Notification","MessageId":"95df01b4-ee98-5cb9-9903-4c221d41eb5e","TopicArn":"arn:aws:sns:us-east-1:123456789012:n","Subject":null,
	     "Message":"{\"users\":[\"alice\"],\"data\":\"hi\"}","Timestamp":"2026-05-30T10:00:00.000Z","SignatureVersion":"1","Signature":"EXAMPLE",
	     "SigningCertUrl":"https://sns.us-east-1.amazonaws.com/cert.pem","UnsubscribeUrl":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe","MessageAttributes":{}}}]},
	 "responseContext":{"statusCode":200,"executedVersion":"7","functionError":"Unhandled"},
	 "responsePayload":{"errorMessage":"resolve: connections table: RequestError","errorType":"errorString"}}`
	for _, body := range []string{record, "not a record"} {
		if _, err := s.SQS.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: aws.String(from), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), append([]string{"replay"}, args...), &stdout, &stderr)
		return stdout.String(), err
	}

	out, err := run("adopt", "--from", from, "--visibility-timeout", "5s")
	if err == nil || !strings.Contains(err.Error(), "1 messages left in "+from) {
		t.Errorf("adopt: %v, want it to fail naming the message left", err)
	}
	for _, line := range []string{"received 2\n", "adopted     1  requests parked in the poison queue at stage decode",
		"deleted     1", "unreadable  1  neither a Lambda invocation record nor an SNS notification: left in the queue", "failed      0"} {
		if !strings.Contains(out, line) {
			t.Errorf("summary\n%s\nwant %q", out, line)
		}
	}

	var list string
	stacktest.EventuallyWithin(t, 30*time.Second, "the adopted request listed", func() bool {
		list, err = run("list", "--stage", "decode", "--wide", "--visibility-timeout", "5s")
		return err == nil && strings.Contains(list, "1      total")
	})
	if want := "decode  async invocation e4b46cbf-b738-xmpl-8880-a18cdf61200e failed after 3 attempts: resolve: connections table: RequestError"; !strings.Contains(list, want) {
		t.Errorf("list:\n%s\nwant %q", list, want)
	}
}
