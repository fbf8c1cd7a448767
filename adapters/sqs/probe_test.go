package sqs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestProbeQueue: on goaws, a queue that is there answers the probe; one that is not
// fails for good, saying so; a role that may not read it fails for good with
// ErrAccessDenied; throttling is transient.
func TestProbeQueue(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "probed", 30)
	missing := strings.TrimSuffix(queue, "probed") + "nope"
	tests := []struct {
		name      string
		fault     awstest.SQSFault
		url       string
		want      string // the error's start, "" for none
		permanent bool
		denied    bool
	}{
		{name: "a queue", url: queue},
		{name: "no such queue", url: missing, want: "queue not found (", permanent: true},
		{name: "access denied", fault: awstest.SQSAccessDenied, url: queue, want: "access denied to sqs:GetQueueAttributes", permanent: true, denied: true},
		{name: "throttled", fault: awstest.SQSThrottled, url: queue, want: "RequestThrottled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := e.client
			if tc.fault != "" {
				faults := awstest.NewSQSFaults(t, e.endpoint)
				faults.FailQueue(tc.url, tc.fault)
				client = awstest.SQSClient(faults.URL)
			}
			err := pushersqs.ProbeQueue(context.Background(), client, tc.url)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ProbeQueue: %v", err)
			case tc.want == "":
				return
			case err == nil || !strings.HasPrefix(err.Error(), tc.want):
				t.Fatalf("ProbeQueue: %v, want an error starting %q", err, tc.want)
			}
			if handlers.IsPermanent(err) != tc.permanent || errors.Is(err, pushersqs.ErrAccessDenied) != tc.denied {
				t.Errorf("ProbeQueue: %v: permanent %v, denied %v; want %v, %v", err, handlers.IsPermanent(err), errors.Is(err, pushersqs.ErrAccessDenied), tc.permanent, tc.denied)
			}
		})
	}
}
