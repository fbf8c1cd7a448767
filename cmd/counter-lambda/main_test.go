package main

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TestBuildMakesNoCall builds the function with DynamoDB and SQS pointed at a listener,
// which no connection may reach before the first invocation: a cold start pays for the
// init's calls, and an init that fails is retried by Lambda at every invocation.
func TestBuildMakesNoCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dialed atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dialed.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	endpoint := "http://" + ln.Addr().String()
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")

	cfg, err := ConfigFromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{
			"NOTIFICATIONS_QUEUE_URL": endpoint + "/123456789012/counter-notifications",
			"COUNTER_WEBSOCKET_URL":   "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, err := build(context.Background(), cfg, &logs); err != nil {
		t.Fatal(err)
	}
	if n := dialed.Load(); n != 0 {
		t.Errorf("build made %d connections", n)
	}
	// The listener is reachable: the check above could see a call.
	_, _ = dynamodb.New(dynamodb.Options{Region: "eu-west-1", BaseEndpoint: aws.String(endpoint)}).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if dialed.Load() == 0 {
		t.Error("a call to the listener was not seen")
	}
}
