package localgateway_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// anonymousIDs returns the ids of the connections store holds without a user.
func anonymousIDs(t *testing.T, store *memory.Store) []string {
	t.Helper()
	var ids []string
	err := store.ScanConnections(t.Context(), "", func(conns []handlers.Connection, _ string) error {
		for _, c := range conns {
			if c.UserID == "" {
				ids = append(ids, c.ConnectionID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestAnonymousConnections connects clients that name no user to a gateway serving the
// routes itself: refused 401 while AnonymousConnections is off; with it on, stored
// without a user, subscribed by their topic parameters and by message, reached through
// the Management API, and removed with their subscriptions when they close.
func TestAnonymousConnections(t *testing.T) {
	t.Run("off: refused", func(t *testing.T) {
		store := memory.NewStore(0)
		_, srv := serveGateway(t, localgateway.Config{}, store)
		if status, body := handshake(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?topic=news"); status != http.StatusUnauthorized {
			t.Errorf("answered %d %s, want 401", status, body)
		}
		if n := store.Len(); n != 0 {
			t.Errorf("%d connections stored", n)
		}
	})

	t.Run("on: stored without a user", func(t *testing.T) {
		store := memory.NewStore(0)
		_, srv := serveGateway(t, localgateway.Config{AnonymousConnections: true, TopicParams: []string{"VehicleID"}}, store)
		ws := dialIntegration(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?VehicleID=v-42")
		ids := anonymousIDs(t, store)
		if len(ids) != 1 || store.Len() != 1 {
			t.Fatalf("stored %d connections, %v without a user: want one without", store.Len(), ids)
		}
		id := ids[0]
		if got := exchange(t, ws, `{"action":"subscribe","entityId":"order-7"}`); got["type"] != "subscribed" {
			t.Errorf("subscribe answered %v", got)
		}
		if got, _ := store.Topics(t.Context(), handlers.Connection{ConnectionID: id}); !slices.Equal(got, []string{"order-7", "v-42"}) {
			t.Errorf("follows %v, want order-7 and v-42", got)
		}

		client := apigatewaymanagementapi.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}},
			func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(`{"lat":1}`)}); err != nil {
			t.Fatalf("post: %v", err)
		}
		if _, frame, err := ws.Read(ctx); err != nil || string(frame) != `{"lat":1}` {
			t.Errorf("read %s, %v", frame, err)
		}

		_ = ws.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "the connection removed with its subscriptions", func() bool {
			return store.Len() == 0 && store.Subscriptions() == 0
		})
	})

	t.Run("reserved users refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cfg  localgateway.Config
			user string // the authorizer's principal; "" for none
		}{
			{"the query string's", localgateway.Config{}, ""},
			{"the query string's, anonymous connections on", localgateway.Config{AnonymousConnections: true}, ""},
			{"the authorizer's", localgateway.Config{}, "$admin"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				store := memory.NewStore(0)
				if tc.user != "" {
					tc.cfg.Authorizer = &fakeAuthorizer{answer: allow(tc.user, nil)}
				}
				_, srv := serveGateway(t, tc.cfg, store)
				status, body := handshake(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?token=t&user_id=$anonymous:CnPqA1")
				if status != http.StatusBadRequest || !strings.Contains(body, `user ids starting with "$" are reserved`) {
					t.Errorf("answered %d %q, want 400 and the reason", status, body)
				}
				if n := store.Len(); n != 0 {
					t.Errorf("%d connections stored", n)
				}
			})
		}
	})
}
