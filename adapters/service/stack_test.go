package service_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/service"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

const table = "ws-connections"

// stack is a local AWS: goaws for SQS and SNS, dynalite for DynamoDB, `pusher gateway`
// for API Gateway, and a proxy in front of the gateway's Management API that can fail
// posts on purpose. The AWS SDK finds the emulators through the environment, as it
// would in a deployment pointed at them.
type stack struct {
	sqs       *awssqs.Client
	sns       *sns.Client
	ddb       *ddb.Client
	queueURL  string
	poisonURL string
	gateway   *service.Gateway
	faults    *faults
	endpoint  string // the Management API as the service sees it: the faults proxy
}

func newStack(t testing.TB) *stack {
	t.Helper()
	aws, dyn := awstest.GoAWS(t), awstest.Dynalite(t)
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_SQS", aws)
	t.Setenv("AWS_ENDPOINT_URL_SNS", aws)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", dyn)
	s := &stack{sqs: awstest.SQSClient(aws), sns: awstest.SNSClient(aws), ddb: awstest.DynamoDBClient(dyn)}
	awstest.CreateConnectionsTable(t, s.ddb, table)
	s.queueURL = awstest.CreateQueue(t, s.sqs, "notifications", map[string]string{"VisibilityTimeout": "2"})
	s.poisonURL = awstest.CreateQueue(t, s.sqs, "poison", nil)

	cfg, err := service.GatewayDefaults(service.GatewayConfig{Listen: "127.0.0.1:0", Table: dynamodb.Config{Table: table}})
	if err != nil {
		t.Fatal(err)
	}
	g, cleanup, err := pusher.BuildGateway(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	runUntilCleanup(t, "pusher gateway", g.Run)
	s.gateway = g
	s.faults = newFaults(t, g.URL())
	s.endpoint = s.faults.url
	return s
}

// serve runs `pusher serve` on the stack until stop is called or the test ends.
func (s *stack) serve(t testing.TB, tune func(*service.Config)) (svc *service.Service, stop func()) {
	t.Helper()
	cfg := service.Config{
		APIGWEndpoint:  s.endpoint,
		Table:          dynamodb.Config{Table: table},
		QueueURL:       s.queueURL,
		PoisonQueueURL: s.poisonURL,
		WaitTime:       time.Second,
		OpsListen:      "127.0.0.1:0",
		Pipeline: pipeline.Config{
			Retry:        pipeline.RetryConfig{MaxAttempts: 3, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond},
			CloseTimeout: 10 * time.Second,
		},
	}
	if tune != nil {
		tune(&cfg)
	}
	cfg, err := service.Defaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := pusher.BuildService(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	halt := runUntilCleanup(t, "pusher serve", svc.Run)
	<-svc.Pipeline.Running()
	return svc, func() { halt(); cleanup() }
}

// runUntilCleanup runs run in the background; the returned stop (also called when the
// test ends) cancels it and waits for it to return.
func runUntilCleanup(t testing.TB, name string, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (s *stack) connect(t testing.TB, name, user string) *gatewaytest.Client {
	return gatewaytest.Dial(t, s.gateway.Listener.Addr().String(), name, user)
}

// send sends body with a plain SDK SendMessage, as a backend would.
func (s *stack) send(t testing.TB, body string) string {
	t.Helper()
	out, err := s.sqs.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// queued counts the messages of a queue, visible or not (goaws counts both in
// ApproximateNumberOfMessages).
func (s *stack) queued(t testing.TB, queueURL string) int {
	t.Helper()
	out, err := s.sqs.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}

// eventually polls cond until it holds, failing the test after 15s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 15*time.Second, what, cond)
}

// eventuallyWithin polls cond until it holds, failing the test after limit.
func eventuallyWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// faults is a proxy in front of the Management API that counts posts per connection
// and answers with fail's status instead of passing the post on when fail says so.
type faults struct {
	url   string
	mu    sync.Mutex
	posts map[string]int
	fail  func(id string, n int) int // status to answer the n-th post to id with; 0 passes
}

func newFaults(t testing.TB, gateway string) *faults {
	target, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &faults{posts: map[string]int{}}
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
	f.url = srv.URL
	return f
}

func (f *faults) set(fail func(id string, n int) int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
	f.posts = map[string]int{}
}

func (f *faults) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[id]
}

func (f *faults) total() (posts, connections int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.posts {
		posts += n
	}
	return posts, len(f.posts)
}
