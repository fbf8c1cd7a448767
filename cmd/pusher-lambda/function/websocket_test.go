package function_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestWebSocketRoutes(t *testing.T) {
	s := stacktest.New(t)
	fn, _ := start(t, s, func(c *function.Config) {
		c.Table.TTLAttribute, c.Table.TTL = "expires_at", time.Hour
		c.Topics.Auth.Open = true
	})
	stored := func(t *testing.T) []handlers.Connection {
		t.Helper()
		var all []handlers.Connection
		err := s.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
			all = append(all, conns...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	route := func(t *testing.T, fixture string, want int) {
		t.Helper()
		out, err := invoke(t, fn, fixture, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if resp, ok := out.(events.APIGatewayProxyResponse); !ok || resp.StatusCode != want {
			t.Fatalf("answered %#v, want status %d", out, want)
		}
	}
	// userConnected checks that user has exactly the connection id, stored with its times.
	userConnected := func(t *testing.T, user, id string) {
		t.Helper()
		conns, err := s.Store.UserConnections(context.Background(), user)
		if err != nil || len(conns) != 1 || conns[0].ConnectionID != id {
			t.Fatalf("connections of %s: %v %v, want %s", user, conns, err, id)
		}
		item, err := s.DynamoDB.GetItem(context.Background(), &ddb.GetItemInput{
			TableName: aws.String(stacktest.Table),
			Key: map[string]types.AttributeValue{
				"user_id": &types.AttributeValueMemberS{Value: user}, "connection_id": &types.AttributeValueMemberS{Value: id},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		epoch := func(name string) int64 {
			v, _ := item.Item[name].(*types.AttributeValueMemberN)
			if v == nil {
				t.Fatalf("the row has no %s: %v", name, item.Item)
			}
			n, _ := strconv.ParseInt(v.Value, 10, 64)
			return n
		}
		// The fixtures' requestContext.connectedAt: 26 Nov 2026 12:00:00 UTC.
		if at, ttl := epoch("connected_at"), epoch("expires_at"); at != 1795694400 || time.Until(time.Unix(ttl, 0)) < 59*time.Minute || time.Until(time.Unix(ttl, 0)) > time.Hour {
			t.Errorf("connected_at %d, expires_at %d: want the event's connectedAt and an hour from now", at, ttl)
		}
	}

	t.Run("$connect without a user is refused", func(t *testing.T) {
		route(t, "connect-anonymous.json", http.StatusUnauthorized)
		if conns := stored(t); len(conns) != 0 {
			t.Errorf("stored %v", conns)
		}
	})
	t.Run("$connect with the user in the query string", func(t *testing.T) {
		route(t, "connect-query.json", http.StatusOK)
		userConnected(t, "erin", "CnPq2eHgoAMCLsR=")
	})
	t.Run("$connect with the user of the authorizer, not the query string's", func(t *testing.T) {
		route(t, "connect-authorizer.json", http.StatusOK)
		userConnected(t, "frank", "CnPq3fIhoAMCMtS=")
		if conns, _ := s.Store.UserConnections(context.Background(), "erin"); len(conns) != 1 {
			t.Errorf("erin has %v", conns)
		}
	})
	t.Run("$connect with the authorizer's principalId", func(t *testing.T) {
		payload, err := os.ReadFile(filepath.Join("testdata", "connect-authorizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		var req events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			t.Fatal(err)
		}
		req.RequestContext.Authorizer = map[string]any{"principalId": "grace"}
		req.RequestContext.ConnectionID = "CnPq4gJioAMCNuT="
		payload, _ = json.Marshal(req)
		out, err := fn.Handle(context.Background(), payload)
		if resp, ok := out.(events.APIGatewayProxyResponse); err != nil || !ok || resp.StatusCode != http.StatusOK {
			t.Fatalf("answered %v, %v", out, err)
		}
		userConnected(t, "grace", "CnPq4gJioAMCNuT=")
	})
	t.Run("$default is ignored", func(t *testing.T) {
		route(t, "message.json", http.StatusOK)
		userConnected(t, "frank", "CnPq3fIhoAMCMtS=")
	})
	t.Run("$disconnect deletes the connection", func(t *testing.T) {
		route(t, "disconnect-authorizer.json", http.StatusOK)
		if conns, err := s.Store.UserConnections(context.Background(), "frank"); err != nil || len(conns) != 0 {
			t.Errorf("frank still has %v %v", conns, err)
		}
		if n := len(stored(t)); n != 2 {
			t.Errorf("%d connections left, want erin's and grace's", n)
		}
	})
	// call sends the fixture, changed by edit, and returns the answer.
	call := func(t *testing.T, fixture string, edit func(*events.APIGatewayWebsocketProxyRequest)) events.APIGatewayProxyResponse {
		t.Helper()
		payload, err := os.ReadFile(filepath.Join("testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		var req events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			t.Fatal(err)
		}
		edit(&req)
		payload, _ = json.Marshal(req)
		out, err := fn.Handle(context.Background(), payload)
		resp, ok := out.(events.APIGatewayProxyResponse)
		if !ok {
			t.Fatalf("answered %v, %v", out, err)
		}
		return resp
	}
	// message is a client message on route from the connection id of connect-query.json,
	// without a user, as API Gateway sends it when no authorizer runs.
	message := func(route, body string) func(*events.APIGatewayWebsocketProxyRequest) {
		return func(r *events.APIGatewayWebsocketProxyRequest) {
			r.RequestContext.RouteKey, r.RequestContext.EventType, r.Body = route, "MESSAGE", body
			r.RequestContext.ConnectionID, r.RequestContext.Authorizer = "CnPq2eHgoAMCLsR=", nil
		}
	}
	topicsOf := func(t *testing.T, id string) []string {
		t.Helper()
		topics, err := s.Store.Topics(context.Background(), handlers.Connection{ConnectionID: id})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(topics)
		return topics
	}
	t.Run("$connect subscribes to its topic query parameters", func(t *testing.T) {
		resp := call(t, "connect-query.json", func(r *events.APIGatewayWebsocketProxyRequest) {
			r.RequestContext.ConnectionID = "CnPq5hKjoAMCOvU="
			r.MultiValueQueryStringParameters = map[string][]string{"user_id": {"heidi"}, "topic": {"news", "vehicle-7"}}
			r.QueryStringParameters = map[string]string{"user_id": "heidi", "topic": "vehicle-7"}
		})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answered %d %s", resp.StatusCode, resp.Body)
		}
		if got := topicsOf(t, "CnPq5hKjoAMCOvU="); !slices.Equal(got, []string{"news", "vehicle-7"}) {
			t.Errorf("subscribed to %v, want news and vehicle-7", got)
		}
	})
	t.Run("$connect with a topic over the length limit is refused and stores nothing", func(t *testing.T) {
		resp := call(t, "connect-query.json", func(r *events.APIGatewayWebsocketProxyRequest) {
			r.RequestContext.ConnectionID = "CnPq6iLkoAMCPwV="
			r.QueryStringParameters = map[string]string{"user_id": "ivan", "topic": strings.Repeat("x", 2000)}
		})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("answered %d %s, want 400", resp.StatusCode, resp.Body)
		}
		if conns, _ := s.Store.UserConnections(context.Background(), "ivan"); len(conns) != 0 {
			t.Errorf("ivan has %v", conns)
		}
		if got := topicsOf(t, "CnPq6iLkoAMCPwV="); len(got) != 0 {
			t.Errorf("subscribed to %v", got)
		}
	})
	t.Run("subscribe and unsubscribe routes answer the client", func(t *testing.T) {
		resp := call(t, "message.json", message("subscribe", `{"action":"subscribe","entityId":"order-42"}`))
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"order-42"`) {
			t.Fatalf("subscribe answered %d %s", resp.StatusCode, resp.Body)
		}
		call(t, "message.json", message("subscribe", `{"action":"subscribe","topic":"news"}`))
		if got := topicsOf(t, "CnPq2eHgoAMCLsR="); !slices.Equal(got, []string{"news", "order-42"}) {
			t.Errorf("subscribed to %v, want news and order-42", got)
		}
		if resp := call(t, "message.json", message("unsubscribe", `{"action":"unsubscribe","topic":"news"}`)); resp.StatusCode != http.StatusOK {
			t.Fatalf("unsubscribe answered %d %s", resp.StatusCode, resp.Body)
		}
		if got := topicsOf(t, "CnPq2eHgoAMCLsR="); !slices.Equal(got, []string{"order-42"}) {
			t.Errorf("subscribed to %v after unsubscribing news, want order-42", got)
		}
		resp = call(t, "message.json", message("subscribe", `{"action":"subscribe"}`))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"error"`) {
			t.Errorf("subscribe without a topic answered %d %s, want 400 and an error frame", resp.StatusCode, resp.Body)
		}
	})
	t.Run("$disconnect without a user removes the connection and its subscriptions", func(t *testing.T) {
		if resp := call(t, "disconnect-authorizer.json", message("$disconnect", "")); resp.StatusCode != http.StatusOK {
			t.Fatalf("answered %d %s", resp.StatusCode, resp.Body)
		}
		if got := topicsOf(t, "CnPq2eHgoAMCLsR="); len(got) != 0 {
			t.Errorf("still subscribed to %v", got)
		}
		// API Gateway names no user without an authorizer, and the connections table
		// is keyed by user: the connection's record names it.
		if conns, _ := s.Store.UserConnections(context.Background(), "erin"); len(conns) != 0 {
			t.Errorf("erin still has %v", conns)
		}
	})
	t.Run("other events are refused", func(t *testing.T) {
		for name, payload := range map[string]string{
			"not JSON":       `{`,
			"S3 event":       `{"Records":[{"eventSource":"aws:s3"}]}`,
			"scheduled":      `{"source":"aws.events","detail-type":"Scheduled Event"}`,
			"no records":     `{"Records":[]}`,
			"HTTP API event": `{"version":"2.0","rawPath":"/"}`,
		} {
			if out, err := fn.Handle(context.Background(), json.RawMessage(payload)); err == nil {
				t.Errorf("%s: answered %v, want an error", name, out)
			}
		}
	})
}
