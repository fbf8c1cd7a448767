//go:build linux

package custom_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// TestTeamLambdaUnderRIE builds a team's own Lambda function, lambda.Main with a stage,
// as a deployment builds bootstrap, and invokes it with an SQS batch under the Lambda
// Runtime Interface Emulator: a live client receives the frame its stage made.
func TestTeamLambdaUnderRIE(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher/custom/testdata/teamlambda")
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"APIGW_ENDPOINT":         s.Faults.URL,
		"CONNECTIONS_TABLE_NAME": stacktest.Table,
		"POISON_QUEUE_URL":       s.PoisonURL,
	})
	payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "team-1", Body: `{"users":["alice"],"data":{"n":2}}`,
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:notifications",
	}}})
	if err != nil {
		t.Fatal(err)
	}

	body, _ := rie.Invoke(t, payload)

	var resp events.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("answered %s, want no batch item failure", body)
	}
	if got, want := alice.Next(t), address("alice", `{"n":2}`); got != want {
		t.Errorf("alice got %s, want %s", got, want)
	}
}
