package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// TestServeRefusesWhatCannotWork runs `pusher serve` with one setting that cannot work
// at a time, on emulators that have everything else: each run exits non-zero before it
// is ready, with one line naming the setting and the cause.
func TestServeRefusesWhatCannotWork(t *testing.T) {
	bin := stacktest.BuildPusher(t)
	s := stacktest.New(t)
	closed := fmt.Sprintf("http://127.0.0.1:%d", awstest.FreePort(t))
	missingQueue := strings.TrimSuffix(s.PoisonURL, "poison") + "nope"
	noIndex := subscriptionsWithoutIndex(t, s)
	tests := []struct {
		name string
		env  map[string]string
		want string // the line, whole
	}{
		{"a table that does not exist", map[string]string{"CONNECTIONS_TABLE_NAME": "nope"},
			"CONNECTIONS_TABLE_NAME=nope: table not found (ResourceNotFoundException) in us-east-1"},
		{"an index that does not exist", map[string]string{"SUBSCRIPTIONS_TABLE_NAME": noIndex},
			"SUBSCRIPTIONS_TABLE_NAME=" + noIndex + ": index by-connection not found (ValidationException: The table does not have the specified index: by-connection) in us-east-1"},
		{"a poison queue that does not exist", map[string]string{"POISON_QUEUE_URL": missingQueue},
			"POISON_QUEUE_URL=" + missingQueue + ": queue not found ("},
		{"a notifications queue that does not exist", map[string]string{"NOTIFICATIONS_QUEUE_URL": missingQueue},
			"NOTIFICATIONS_QUEUE_URL=" + missingQueue + ": queue not found ("},
		{"an endpoint where nothing listens", map[string]string{"APIGW_ENDPOINT": closed},
			"APIGW_ENDPOINT=" + closed + ": no gateway answers there: "},
		{"an endpoint with no Management API", map[string]string{"APIGW_ENDPOINT": s.Faults.URL + "/prod"},
			"APIGW_ENDPOINT=" + s.Faults.URL + "/prod: no Management API there, a wrong stage or path: status 404"},
		// No credentials at all: none in the environment, no shared files in HOME, and
		// the instance metadata endpoint on a closed port, as on a machine without IMDS
		// (where its address answers nothing: the SDK fails the same way, slower).
		{"no credentials", map[string]string{
			"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
			"HOME": t.TempDir(), "AWS_EC2_METADATA_SERVICE_ENDPOINT": closed,
		}, "credentials: none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := s.ServeEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			p := stacktest.StartProcess(t, "serve", bin, []string{"serve"}, env)
			exited, err := p.Wait(30 * time.Second)
			if !exited || err == nil {
				t.Fatalf("pusher serve: exited %v (%v), want a non-zero exit\n%s", exited, err, p.Output())
			}
			var refusals []string
			for line := range strings.Lines(p.Output()) {
				line = strings.TrimPrefix(strings.TrimSpace(line), "pusher: ")
				if strings.Contains(line, "=") && !strings.HasPrefix(line, "{") && !strings.HasPrefix(line, "time=") || strings.HasPrefix(line, "credentials: ") {
					refusals = append(refusals, line)
				}
			}
			if len(refusals) != 1 || !strings.HasPrefix(refusals[0], tc.want) {
				t.Errorf("refusals %q, want one line starting %q\n%s", refusals, tc.want, p.Output())
			}
			if strings.Contains(p.Output(), "pusher serve ready") {
				t.Errorf("pusher serve said it was ready:\n%s", p.Output())
			}
		})
	}
}

// subscriptionsWithoutIndex makes a subscriptions table without its index by connection,
// and returns its name.
func subscriptionsWithoutIndex(t *testing.T, s *stacktest.Stack) string {
	t.Helper()
	const name = "subscriptions-without-index"
	ctx := context.Background()
	_, err := s.DynamoDB.CreateTable(ctx, &ddb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("topic"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("connection_id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("topic"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("connection_id"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	waiter := ddb.NewTableExistsWaiter(s.DynamoDB, func(o *ddb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestServeWaitsOutATransientFailure: while the Management API answers the start-up
// check 503, `pusher serve` stays up and unready, /readyz saying why; once it answers,
// the service is ready and delivers.
func TestServeWaitsOutATransientFailure(t *testing.T) {
	bin := stacktest.BuildPusher(t)
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	s.Faults.Fail(func(id string, n int) int {
		if id == apigw.ProbeConnectionID && n <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	p := stacktest.StartProcess(t, "serve", bin, []string{"serve"}, s.ServeEnv())
	var readyz string
	stacktest.Eventually(t, "the ops address", func() bool {
		_, rest, ok := strings.Cut(p.Output(), "readiness on http://")
		addr, _, ok2 := strings.Cut(rest, "\n")
		readyz = "http://" + strings.TrimSpace(addr) + "/readyz"
		return ok && ok2
	})
	get := func() (int, string) {
		resp, err := http.Get(readyz)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	want := "APIGW_ENDPOINT=" + s.Faults.URL + ": status 503 InternalServerErrorException"
	stacktest.Eventually(t, "/readyz 503 naming the endpoint", func() bool {
		status, body := get()
		return status == http.StatusServiceUnavailable && strings.Contains(body, want)
	})
	stacktest.EventuallyWithin(t, 30*time.Second, "/readyz 200", func() bool { status, _ := get(); return status == http.StatusOK })
	if n := s.Faults.Count(apigw.ProbeConnectionID); n != 3 {
		t.Errorf("the endpoint was checked %d times, want 3 (twice 503, then 410)", n)
	}
	s.Send(t, `{"users":["alice"],"data":"after the hiccup"}`)
	if got := alice.Next(t); got != `"after the hiccup"` {
		t.Errorf("alice got %s", got)
	}
	if exited, _ := p.Wait(0); exited {
		t.Errorf("pusher serve exited:\n%s", p.Output())
	}
}
