// Package lambdatest stands up, for the tests of the Lambda function, a local AWS:
// goaws (SQS, SNS), dynalite (DynamoDB), `pusher gateway` for API Gateway with live
// WebSocket clients, and a faults proxy in front of its Management API. It is a trimmed
// copy of adapters/service's stack_test.go.
package lambdatest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/service"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Table is the connections table of a Stack.
const Table = "ws-connections"

// Stack is a local AWS. The AWS SDK finds the emulators through the environment
// (AWS_ENDPOINT_URL_SQS, ...), which New sets for the test, as a deployment's would.
type Stack struct {
	SQS       *awssqs.Client
	DynamoDB  *ddb.Client
	Store     *dynamodb.Store
	PoisonURL string
	// Endpoints are the emulators' endpoint URLs by environment variable.
	Endpoints map[string]string
	Gateway   *service.Gateway
	Faults    *Faults
}

// New stands up a Stack until the test ends.
func New(t testing.TB) *Stack {
	t.Helper()
	goaws, dyn := awstest.GoAWS(t), awstest.Dynalite(t)
	s := &Stack{
		SQS: awstest.SQSClient(goaws), DynamoDB: awstest.DynamoDBClient(dyn),
		Endpoints: map[string]string{
			"AWS_ENDPOINT_URL_SQS": goaws, "AWS_ENDPOINT_URL_SNS": goaws, "AWS_ENDPOINT_URL_DYNAMODB": dyn,
		},
	}
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	for k, v := range s.Endpoints {
		t.Setenv(k, v)
	}
	awstest.CreateConnectionsTable(t, s.DynamoDB, Table)
	s.PoisonURL = awstest.CreateQueue(t, s.SQS, "poison", nil)
	store, err := dynamodb.New(s.DynamoDB, dynamodb.Config{Table: Table})
	if err != nil {
		t.Fatal(err)
	}
	s.Store = store

	cfg, err := service.GatewayDefaults(service.GatewayConfig{Listen: "127.0.0.1:0", Table: dynamodb.Config{Table: Table}})
	if err != nil {
		t.Fatal(err)
	}
	g, cleanup, err := pusher.BuildGateway(context.Background(), cfg, Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pusher gateway stopped with %v", err)
		}
	})
	s.Gateway = g
	s.Faults = newFaults(t, g.URL())
	return s
}

// Connect connects a WebSocket client of user to the gateway.
func (s *Stack) Connect(t testing.TB, name, user string) *gatewaytest.Client {
	return gatewaytest.Dial(t, s.Gateway.Listener.Addr().String(), name, user)
}

// ConnectionID returns the connection of a user who has exactly one.
func (s *Stack) ConnectionID(t testing.TB, user string) string {
	t.Helper()
	conns, err := s.Store.UserConnections(context.Background(), user)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections of %s: %v %v", user, conns, err)
	}
	return conns[0].ConnectionID
}

// Parked receives and deletes the poison queue's messages until it has n of them.
func (s *Stack) Parked(t testing.TB, n int) []pipeline.Parked {
	t.Helper()
	var out []pipeline.Parked
	Eventually(t, fmt.Sprintf("%d messages parked", n), func() bool {
		resp, err := s.SQS.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.PoisonURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Messages {
			msg, err := sqs.ParkedMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pipeline.ParkedFrom(msg))
			_, _ = s.SQS.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(s.PoisonURL), ReceiptHandle: m.ReceiptHandle})
		}
		return len(out) >= n
	})
	return out
}

// Eventually polls cond until it holds, failing the test after 15s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Quiet is a logger that discards.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Faults is a proxy in front of the Management API that counts posts per connection and
// answers with Fail's status instead of passing a post on when Fail says so.
type Faults struct {
	// URL is the Management API as the function sees it (APIGW_ENDPOINT).
	URL   string
	mu    sync.Mutex
	posts map[string]int
	fail  func(id string, n int) int
}

func newFaults(t testing.TB, gateway string) *Faults {
	target, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &Faults{posts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/@connections/")
		if !ok || r.Method != http.MethodPost {
			proxy.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.posts[id]++
		n, fail := f.posts[id], f.fail
		f.mu.Unlock()
		if fail != nil {
			if status := fail(id, n); status != 0 {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("X-Amzn-Errortype", "InternalServerErrorException")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"message":"injected failure"}`))
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Fail makes the n-th post to connection id answered with fail(id, n), when not 0.
func (f *Faults) Fail(fail func(id string, n int) int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
	f.posts = map[string]int{}
}

// Count returns the posts to connection id.
func (f *Faults) Count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[id]
}
