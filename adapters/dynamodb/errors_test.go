package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// calls runs each store call once, for the error tests.
func calls(s *dynamodb.Store) map[string]func(context.Context) error {
	c := conn("a", "1")
	return map[string]func(context.Context) error{
		"AddConnection":    func(ctx context.Context) error { return s.AddConnection(ctx, c) },
		"RemoveConnection": func(ctx context.Context) error { return s.RemoveConnection(ctx, c) },
		"UserConnections": func(ctx context.Context) error {
			_, err := s.UserConnections(ctx, c.UserID)
			return err
		},
		"ScanConnections": func(ctx context.Context) error {
			return s.ScanConnections(ctx, "", func([]handlers.Connection, string) error { return nil })
		},
		"PruneConnections/old": func(ctx context.Context) error {
			return s.PruneConnections(ctx, []handlers.Connection{at(c, time.Now().Add(-time.Hour))}, time.Now())
		},
		"PruneConnections/unknown age": func(ctx context.Context) error {
			return s.PruneConnections(ctx, []handlers.Connection{c}, time.Now())
		},
	}
}

// TestPermanentErrors has DynamoDB refuse each call: a missing table is a
// ResourceNotFoundException, a key schema other than the table's a ValidationException.
func TestPermanentErrors(t *testing.T) {
	e := newEmulator(t)
	table := e.table(t)
	seed(t, e.client, table, connections(2, 10))
	tests := []struct {
		name string
		cfg  dynamodb.Config
		code string
	}{
		{name: "missing table", cfg: dynamodb.Config{Table: "no-such-table"}, code: "ResourceNotFoundException"},
		{name: "wrong key schema", cfg: dynamodb.Config{Table: table, UserKey: "uid", ConnectionKey: "cid"}, code: "ValidationException"},
	}
	for _, tt := range tests {
		s, err := dynamodb.New(e.client, tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for op, call := range calls(s) {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				err := call(t.Context())
				if op == "ScanConnections" && tt.code == "ValidationException" {
					// A Scan reads any table whatever its keys; the items lack the keys asked for.
					if !handlers.IsPermanent(err) {
						t.Errorf("%s = %v, want a permanent error", op, err)
					}
					return
				}
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
					t.Fatalf("%s = %v, want a %s", op, err, tt.code)
				}
				if !handlers.IsPermanent(err) {
					t.Errorf("%s = %v, want a permanent error", op, err)
				}
			})
		}
	}
}

// TestTransientErrors has the network fail each call: nothing listens on the endpoint.
func TestTransientErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("http://%s", ln.Addr())
	ln.Close()
	client := ddb.NewFromConfig(awstest.Config(), func(o *ddb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Retryer = aws.NopRetryer{}
	})
	s, err := dynamodb.New(client, dynamodb.Config{Table: "connections"})
	if err != nil {
		t.Fatal(err)
	}
	for op, call := range calls(s) {
		t.Run(op, func(t *testing.T) {
			err := call(t.Context())
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Fatalf("%s = %v, want a network error", op, err)
			}
			if handlers.IsPermanent(err) {
				t.Errorf("%s = %v, marked permanent", op, err)
			}
		})
	}
}
