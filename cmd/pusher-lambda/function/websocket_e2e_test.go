//go:build linux

package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// topicSecret signs the subscription tokens of the e2e test (TOPIC_TOKEN_SECRET), of
// the 32 bytes HS256 needs.
const topicSecret = "e2e-topic-secret-of-32-bytes-!!!"

// TestWebSocketAsDeployed runs the function as a deployment does: built as bootstrap,
// under the Lambda Runtime Interface Emulator, on the emulators, behind `pusher gateway
// --lambda-integration` with live WebSocket clients, so that every route reaches it as
// API Gateway sends it (message routes and $disconnect without query string, and no
// authorizer), and its pipeline posts frames through that gateway's Management API.
func TestWebSocketAsDeployed(t *testing.T) {
	began := time.Now()
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	d := deploy(t, s, bootstrap, map[string]string{
		"SUBSCRIPTIONS_TABLE_NAME": stacktest.SubscriptionsTable,
		"TOPICS_PUBLIC":            "news,sport,news:*",
		"TOPICS_USER_SCOPED":       "user:{user}:*",
		"TOPIC_TOKEN_SECRET":       topicSecret,
		"TOPIC_AUTH_HOOK_URL":      topicHook(t),
		"TOPIC_AUTH_HOOK_TIMEOUT":  "300ms",
		"MAX_TOPICS":               "50",
	})

	t.Run("a subscribe by message knows the user: exclude_users and users with topics", func(t *testing.T) {
		erin, frank := d.dial(t, "erin", "user_id=erin"), d.dial(t, "frank", "user_id=frank")
		for _, c := range []*gatewaytest.Client{erin, frank} {
			c.Send(t, `{"action":"subscribe","topic":"news"}`)
			if got := c.Next(t); got != `{"type":"subscribed","topic":"news"}` {
				t.Fatalf("%s: subscribe answered %s", c.Name, got)
			}
		}
		d.notify(t, `{"topics":["news"],"exclude_users":["erin"],"data":{"n":1}}`)
		if got := frank.Next(t); got != `{"n":1}` {
			t.Errorf("frank got %s", got)
		}
		erin.Quiet(t, 300*time.Millisecond)

		d.notify(t, `{"users":["erin"],"topics":["news"],"data":{"n":2}}`)
		if got := erin.Next(t); got != `{"n":2}` {
			t.Errorf("erin got %s", got)
		}
		erin.Quiet(t, 300*time.Millisecond) // once, though she is both a user and a subscriber
		erin.Close()
		frank.Close()
		gone(t, s, "erin", "frank")
	})

	t.Run("a subscribe by message after one at $connect keeps the user", func(t *testing.T) {
		erin := d.dial(t, "erin", "user_id=erin&topic=news")
		erin.Send(t, `{"action":"subscribe","topic":"sport"}`)
		if got := erin.Next(t); got != `{"type":"subscribed","topic":"sport"}` {
			t.Fatalf("subscribe answered %s", got)
		}
		id := s.ConnectionID(t, "erin")
		for _, topic := range []string{"news", "sport"} {
			row := subscription(t, s, topic, id)
			if user, _ := row["user_id"].(*types.AttributeValueMemberS); user == nil || user.Value != "erin" {
				t.Errorf("the subscription to %s is %v, want erin's", topic, row)
			}
		}
		erin.Close()
		gone(t, s, "erin")
	})

	t.Run("$disconnect without an authorizer removes the row and the subscriptions", func(t *testing.T) {
		grace := d.dial(t, "grace", "user_id=grace&topic=news")
		grace.Send(t, `{"action":"subscribe","topic":"sport"}`)
		grace.Next(t)
		id := s.ConnectionID(t, "grace")
		keys := []string{"news", "sport", "$connection:" + id}
		for _, topic := range keys {
			if subscription(t, s, topic, id) == nil {
				t.Fatalf("no row %s of the connection before it closes", topic)
			}
		}
		grace.Close()
		stacktest.Eventually(t, "grace's rows are deleted", func() bool {
			if connectionRow(t, s, "grace", id) != nil {
				return false
			}
			for _, topic := range keys {
				if subscription(t, s, topic, id) != nil {
					return false
				}
			}
			return true
		})
	})

	t.Run("topics are authorized", func(t *testing.T) {
		erin := d.dial(t, "erin", "user_id=erin")
		id := s.ConnectionID(t, "erin")
		token := func(method jwt.SigningMethod, key any, sub string, exp time.Duration) string {
			signed, err := jwt.NewWithClaims(method, jwt.MapClaims{
				"sub": sub, "topics": []string{"vip:*"}, "exp": time.Now().Add(exp).Unix(),
			}).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return signed
		}
		secret := []byte(topicSecret)
		for _, tc := range []struct {
			name, topic, token string
			code               string // "" when allowed
		}{
			{"public", "news:weather", "", ""},
			{"the user's own", "user:erin:inbox", "", ""},
			{"another user's", "user:frank:inbox", "", handlers.CodeForbidden},
			{"a valid token", "vip:gold", token(jwt.SigningMethodHS256, secret, "erin", time.Hour), ""},
			{"a token for another user", "vip:silver", token(jwt.SigningMethodHS256, secret, "frank", time.Hour), handlers.CodeForbidden},
			{"an expired token", "vip:silver", token(jwt.SigningMethodHS256, secret, "erin", -time.Hour), handlers.CodeForbidden},
			{"alg none", "vip:silver", token(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "erin", time.Hour), handlers.CodeForbidden},
			{"a bad signature", "vip:silver", token(jwt.SigningMethodHS256, []byte("another secret"), "erin", time.Hour), handlers.CodeForbidden},
			{"the hook allows", "hook-ok", "", ""},
			{"the hook denies", "hook-no", "", handlers.CodeForbidden},
			{"the hook times out", "hook-slow", "", handlers.CodeUnavailable},
		} {
			t.Run(tc.name, func(t *testing.T) {
				msg, _ := json.Marshal(map[string]string{"action": "subscribe", "topic": tc.topic, "token": tc.token})
				erin.Send(t, string(msg))
				var frame struct{ Type, Topic, Code, Message string }
				if got := erin.Next(t); json.Unmarshal([]byte(got), &frame) != nil {
					t.Fatalf("answered %s", got)
				}
				followed := slices.Contains(topicsOf(t, s, id), tc.topic)
				row := subscription(t, s, tc.topic, id)
				if tc.code == "" {
					if frame.Type != "subscribed" || !followed || row == nil {
						t.Errorf("answered %+v, followed %v, row %v: want it allowed", frame, followed, row)
					}
					return
				}
				if frame.Type != "error" || frame.Code != tc.code {
					t.Errorf("answered %+v, want an error of code %s", frame, tc.code)
				}
				if followed || row != nil {
					t.Errorf("refused, yet followed %v, row %v", followed, row)
				}
			})
		}
		t.Run("a refused topic at $connect refuses the connection", func(t *testing.T) {
			d.refused(t, "user_id=judy&topic=news&topic=user:frank:inbox", http.StatusForbidden)
			noRows(t, s, "judy", "news")
		})
		erin.Close()
		gone(t, s, "erin")
	})

	t.Run("a connection without a user is refused while ANONYMOUS_CONNECTIONS is off", func(t *testing.T) {
		d.refused(t, "topic=news", http.StatusUnauthorized)
		if id, ok := anonymousID(t, s); ok {
			t.Errorf("the refused connection left the row of %s", id)
		}
	})

	t.Run("connections without a user: topics, broadcasts and exclusions reach them, users never", func(t *testing.T) {
		a := deploy(t, s, bootstrap, map[string]string{
			"SUBSCRIPTIONS_TABLE_NAME": stacktest.SubscriptionsTable,
			"TOPICS_PUBLIC":            "news,sport",
			"ANONYMOUS_CONNECTIONS":    "true",
		})
		viewer := a.dial(t, "viewer", "topic=news") // seed 002's client: no user, a topic
		erin := a.dial(t, "erin", "user_id=erin")
		id, ok := anonymousID(t, s)
		if !ok {
			t.Fatal("no connection without a user is stored")
		}
		if connectionRow(t, s, "$anonymous:"+id, id) == nil {
			t.Errorf("no row under $anonymous:%s", id)
		}
		if !strings.Contains(a.rie.Output(), "anonymous connections are accepted") {
			t.Errorf("the function did not say at start that it accepts anonymous connections:\n%s", a.rie.Output())
		}

		a.notify(t, `{"topics":["news"],"data":{"n":1}}`)
		if got := viewer.Next(t); got != `{"n":1}` {
			t.Errorf("the topic request gave the viewer %s", got)
		}
		a.notify(t, `{"data":{"n":2}}`)
		for _, c := range []*gatewaytest.Client{viewer, erin} {
			if got := c.Next(t); got != `{"n":2}` {
				t.Errorf("the broadcast gave %s %s", c.Name, got)
			}
		}
		a.notify(t, `{"exclude_users":["erin"],"data":{"n":3}}`)
		if got := viewer.Next(t); got != `{"n":3}` {
			t.Errorf("the exclusion of erin gave the viewer %s", got)
		}
		erin.Quiet(t, 300*time.Millisecond)

		// A users request reaches only its users; one naming the viewer's key is refused
		// at decode, parked with its reason.
		a.notify(t, `{"users":["erin"],"data":{"n":4}}`, `{"users":["$anonymous:`+id+`"],"data":{"n":5}}`)
		if got := erin.Next(t); got != `{"n":4}` {
			t.Errorf("erin got %s", got)
		}
		viewer.Quiet(t, 500*time.Millisecond)
		parked := s.Parked(t, 1)
		if len(parked) != 1 || !strings.Contains(parked[0].Reason, `user ids starting with "$" are reserved`) {
			t.Errorf("parked %+v, want the request naming $anonymous:%s, with its reason", parked, id)
		}

		viewer.Send(t, `{"action":"subscribe","topic":"sport"}`)
		if got := viewer.Next(t); got != `{"type":"subscribed","topic":"sport"}` {
			t.Fatalf("subscribe answered %s", got)
		}
		a.notify(t, `{"topics":["sport"],"data":{"n":6}}`)
		if got := viewer.Next(t); got != `{"n":6}` {
			t.Errorf("the subscribe by message gave the viewer %s", got)
		}
		erin.Quiet(t, 300*time.Millisecond)

		keys := []string{"news", "sport", "$connection:" + id}
		viewer.Close()
		stacktest.Eventually(t, "the viewer's rows are deleted", func() bool {
			if connectionRow(t, s, "$anonymous:"+id, id) != nil {
				return false
			}
			for _, topic := range keys {
				if subscription(t, s, topic, id) != nil {
					return false
				}
			}
			return true
		})
		erin.Close()
		gone(t, s, "erin")
	})

	t.Run("sixty topics at $connect are over MAX_TOPICS", func(t *testing.T) {
		query := url.Values{"user_id": {"kate"}}
		for i := range 60 {
			query.Add("topic", fmt.Sprintf("news:%d", i))
		}
		d.refused(t, query.Encode(), http.StatusBadRequest)
		noRows(t, s, "kate", "news:0", "news:59")
	})

	t.Run("without a subscriptions table, topics are refused as the client's", func(t *testing.T) {
		bare := deploy(t, s, bootstrap, nil)
		bare.refused(t, "user_id=ivan&topic=news", http.StatusBadRequest)
		if conns, err := s.Store.UserConnections(context.Background(), "ivan"); err != nil || len(conns) != 0 {
			t.Errorf("ivan's refused connection left %v %v", conns, err)
		}
		heidi := bare.dial(t, "heidi", "user_id=heidi")
		heidi.Send(t, `{"action":"subscribe","topic":"news"}`)
		var frame struct{ Type, Code string }
		if got := heidi.Next(t); json.Unmarshal([]byte(got), &frame) != nil || frame.Type != "error" || frame.Code != handlers.CodeUnavailable {
			t.Errorf("subscribe answered %s, want an error frame of code %s", got, handlers.CodeUnavailable)
		}
		// Without a subscriptions table there is no record of the connection: its
		// $disconnect, which names no user, addresses the row of a connection without a
		// user, and heidi's row is left to the table's TTL (see
		// dynamodb.Store.RemoveConnection).
		heidi.Close()
	})

	t.Logf("wall time %s (build, emulators, three functions under the RIE)", time.Since(began).Round(time.Millisecond))
}

// deployment is the function under the RIE behind `pusher gateway
// --lambda-integration`, as a deployment runs it behind API Gateway.
type deployment struct {
	// addr is the gateway's host:port, where clients connect.
	addr string
	// invoke is the function's invocation URL for the test's own events, taking turns
	// with the gateway's.
	invoke string
	// sent numbers the SQS records, for their message ids.
	sent atomic.Int64
	// rie is the emulator running the function, whose output holds the function's logs.
	rie *awstest.RIE
}

// deploy starts, until the test ends, the function bootstrap under the RIE, with the
// stack's tables and poison queue, its Management API the gateway's, and env; and a
// `pusher gateway` whose Lambda integration is that function.
func deploy(t *testing.T, s *stacktest.Stack, bootstrap string, env map[string]string) *deployment {
	t.Helper()
	return deployBehind(t, s, bootstrap, env, "")
}

// deployBehind is deploy with the gateway invoking the $connect authorizer at the
// invocation URL authorizer first, as API Gateway invokes a Lambda REQUEST authorizer
// ("" for none).
func deployBehind(t *testing.T, s *stacktest.Stack, bootstrap string, env map[string]string, authorizer string) *deployment {
	t.Helper()
	// The gateway's address first: the function posts to its Management API.
	addr := fmt.Sprintf("127.0.0.1:%d", awstest.FreePort(t))
	fnEnv := map[string]string{
		"APIGW_ENDPOINT":              "http://" + addr,
		"CONNECTIONS_TABLE_NAME":      stacktest.Table,
		"POISON_QUEUE_URL":            s.PoisonURL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
		"LOG_LEVEL":                   "info",
	}
	for k, v := range env {
		fnEnv[k] = v
	}
	rie := awstest.StartRIE(t, bootstrap, fnEnv)
	invoke := awstest.OneAtATime(t, rie.URL())
	cfg, err := gateway.Defaults(gateway.Config{Listen: httpserve.Address(addr), Integration: invoke, LambdaAuthorizer: authorizer})
	if err != nil {
		t.Fatal(err)
	}
	g, cleanup, err := pusher.BuildGateway(context.Background(), cfg, nil, stacktest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stacktest.RunUntilCleanup(t, "pusher gateway", g.Run)
	return &deployment{addr: addr, invoke: invoke, rie: rie}
}

// dial connects a client with query to the gateway until the test ends.
func (d *deployment) dial(t *testing.T, name, query string) *gatewaytest.Client {
	return gatewaytest.DialQuery(t, d.addr, name, query)
}

// refused checks that a client connecting with query is refused with status.
func (d *deployment) refused(t *testing.T, query string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+d.addr+"/?"+query, nil)
	if err == nil {
		ws.CloseNow()
		t.Fatalf("connected with %.60s, want the handshake refused %d", query, status)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("the handshake answered %v (%v), want %d", resp, err, status)
	}
}

// notify invokes the function with an SQS event of the requests, as its event source
// mapping does, and waits for it to settle them all.
func (d *deployment) notify(t *testing.T, requests ...string) {
	t.Helper()
	var ev events.SQSEvent
	for _, req := range requests {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano(), d.sent.Add(1)),
			Body:           req,
			Attributes:     map[string]string{"ApproximateReceiveCount": "1"},
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:notifications",
			AWSRegion:      "us-east-1",
		})
	}
	payload, _ := json.Marshal(ev)
	resp, err := http.Post(d.invoke, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out events.SQSEventResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || len(out.BatchItemFailures) != 0 {
		t.Fatalf("the SQS event was answered %s %s", resp.Status, body)
	}
}

// gone waits until the users have no connection left: their clients closed, and
// $disconnect removed them.
func gone(t *testing.T, s *stacktest.Stack, users ...string) {
	t.Helper()
	stacktest.Eventually(t, fmt.Sprintf("%v have no connection", users), func() bool {
		for _, user := range users {
			if conns, err := s.Store.UserConnections(context.Background(), user); err != nil || len(conns) != 0 {
				return false
			}
		}
		return true
	})
}

// none checks that user has no connection and that the topics have no subscriber: a
// refused $connect left no row.
func noRows(t *testing.T, s *stacktest.Stack, user string, topics ...string) {
	t.Helper()
	if conns, err := s.Store.UserConnections(context.Background(), user); err != nil || len(conns) != 0 {
		t.Errorf("%s's refused connection left %v %v", user, conns, err)
	}
	for _, topic := range topics {
		err := s.Store.TopicConnections(context.Background(), topic, "", func(conns []handlers.Connection, _ string) error {
			for _, c := range conns {
				if c.UserID == user {
					t.Errorf("%s's refused connection is subscribed to %s", user, topic)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// anonymousID returns the id of the one stored connection without a user, false if
// there is none; it fails the test if there are more.
func anonymousID(t *testing.T, s *stacktest.Stack) (string, bool) {
	t.Helper()
	var ids []string
	err := s.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
		for _, c := range conns {
			if c.UserID == "" {
				ids = append(ids, c.ConnectionID)
			}
		}
		return nil
	})
	if err != nil || len(ids) > 1 {
		t.Fatalf("connections without a user: %v %v", ids, err)
	}
	if len(ids) == 0 {
		return "", false
	}
	return ids[0], true
}

// topicHook serves, until the test ends, the topic authorization hook
// (TOPIC_AUTH_HOOK_URL): it allows hook-ok, answers hook-slow after a second (past
// the 300ms TOPIC_AUTH_HOOK_TIMEOUT), and denies every other topic with 403.
func topicHook(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ User, Topic string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch req.Topic {
		case "hook-ok":
			w.WriteHeader(http.StatusNoContent)
		case "hook-slow":
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// subscription reads the subscription of connection id to topic (or, for
// "$connection:"+id, its record), strongly consistent: nil when there is none.
func subscription(t *testing.T, s *stacktest.Stack, topic, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.DynamoDB.GetItem(context.Background(), &ddb.GetItemInput{
		TableName: aws.String(stacktest.SubscriptionsTable),
		Key: map[string]types.AttributeValue{
			"topic": &types.AttributeValueMemberS{Value: topic}, "connection_id": &types.AttributeValueMemberS{Value: id},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// connectionRow reads the row of user's connection id, strongly consistent: nil when
// there is none.
func connectionRow(t *testing.T, s *stacktest.Stack, user, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.DynamoDB.GetItem(context.Background(), &ddb.GetItemInput{
		TableName: aws.String(stacktest.Table),
		Key: map[string]types.AttributeValue{
			"user_id": &types.AttributeValueMemberS{Value: user}, "connection_id": &types.AttributeValueMemberS{Value: id},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// topicsOf returns the topics connection id follows, as its record holds them.
func topicsOf(t *testing.T, s *stacktest.Stack, id string) []string {
	t.Helper()
	topics, err := s.Store.Topics(context.Background(), handlers.Connection{ConnectionID: id})
	if err != nil {
		t.Fatal(err)
	}
	return topics
}
