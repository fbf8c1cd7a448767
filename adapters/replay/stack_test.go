package replay_test

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
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/service"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The test stack is a copy of the minimal part of adapters/service's: goaws,
// dynalite, `pusher gateway` and a faults proxy in front of its Management API.

const table = "ws-connections"

type stack struct {
	sqs       *awssqs.Client
	ddb       *ddb.Client
	queueURL  string
	poisonURL string
	gateway   *service.Gateway
	faults    *faults
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
	s := &stack{sqs: awstest.SQSClient(aws), ddb: awstest.DynamoDBClient(dyn)}
	awstest.CreateConnectionsTable(t, s.ddb, table)
	s.queueURL = awstest.CreateQueue(t, s.sqs, "notifications", map[string]string{"VisibilityTimeout": "2"})
	// goaws now and then leaves a message hidden after ChangeMessageVisibility 0: a
	// short visibility timeout brings it back soon.
	s.poisonURL = awstest.CreateQueue(t, s.sqs, "poison", map[string]string{"VisibilityTimeout": "5"})

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
	return s
}

// retry is the short retry of the tests: two attempts, then the delivery is parked.
var retry = pipeline.RetryConfig{MaxAttempts: 2, InitialInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond}

// serve runs `pusher serve` on the stack until stop is called or the test ends.
func (s *stack) serve(t testing.TB) (stop func()) {
	t.Helper()
	cfg, err := service.Defaults(service.Config{
		APIGWEndpoint:  s.faults.url,
		Table:          dynamodb.Config{Table: table},
		QueueURL:       s.queueURL,
		PoisonQueueURL: s.poisonURL,
		WaitTime:       time.Second,
		OpsListen:      "127.0.0.1:0",
		Pipeline:       pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := pusher.BuildService(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	halt := runUntilCleanup(t, "pusher serve", svc.Run)
	<-svc.Pipeline.Running()
	return func() { halt(); cleanup() }
}

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

func (s *stack) send(t testing.TB, body string) {
	t.Helper()
	if _, err := s.sqs.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
}

// queued counts the messages of a queue, visible or not (goaws counts both).
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

func connectionID(t testing.TB, s *stack, user string) string {
	t.Helper()
	store, err := dynamodb.New(s.ddb, dynamodb.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	conns, err := store.UserConnections(context.Background(), user)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections of %s: %v %v", user, conns, err)
	}
	return conns[0].ConnectionID
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// faults is a proxy in front of a Management API that counts posts per connection and
// answers with fail's status instead of passing the post on when fail says so.
type faults struct {
	url   string
	mu    sync.Mutex
	posts map[string]int
	fail  func(id string, n int) int
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

// failing answers 500 to every post to the connections ids.
func failing(ids ...string) func(string, int) int {
	return func(id string, _ int) int {
		for _, x := range ids {
			if x == id {
				return http.StatusInternalServerError
			}
		}
		return 0
	}
}

type gatewaytestClient = gatewaytest.Client

func awstestQueue(t testing.TB, s *stack, name string) string {
	return awstest.CreateQueue(t, s.sqs, name, nil)
}
