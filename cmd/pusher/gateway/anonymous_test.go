package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// TestAnonymousConnections runs `pusher gateway` on dynalite: a client that names no
// user (?topic=news) is refused 401 while ANONYMOUS_CONNECTIONS is off; with it on,
// start-up says so, the client is stored without a user, as the topic's subscriber,
// and its $disconnect leaves no item in either table.
func TestAnonymousConnections(t *testing.T) {
	d := newDynamo(t)
	public := settings.Topics{Auth: auth.Config{Public: []string{"news"}}}

	t.Run("off: refused", func(t *testing.T) {
		logs := &awstest.Buffer{}
		g := startGateway(t, gateway.Config{Topics: public}, logs)
		if status, body := gatewaytest.Refused(t, g.Listener.Addr().String(), "topic=news"); status != http.StatusUnauthorized {
			t.Errorf("answered %d %s, want 401", status, body)
		}
		if n, m := d.items(t, table), d.items(t, subscriptions); n != 0 || m != 0 {
			t.Errorf("the refused connection left %d connections and %d subscriptions", n, m)
		}
		if strings.Contains(logs.String(), "anonymous connections are accepted") {
			t.Errorf("start-up says anonymous connections are accepted:\n%s", logs)
		}
	})

	t.Run("on: stored without a user, removed at $disconnect", func(t *testing.T) {
		logs := &awstest.Buffer{}
		g := startGateway(t, gateway.Config{Topics: public, AnonymousConnections: true}, logs)
		if n := strings.Count(logs.String(), "anonymous connections are accepted"); n != 1 {
			t.Errorf("start-up says anonymous connections are accepted %d times, want once:\n%s", n, logs)
		}
		viewer := gatewaytest.DialQuery(t, g.Listener.Addr().String(), "viewer", "topic=news")
		store := g.Store.(*dynamodb.Store)
		if users := topicConnections(t, store, "news"); !slices.Equal(users, []string{""}) {
			t.Errorf("news's subscribers are of %q, want one without a user", users)
		}
		if n := userConnections(t, store, ""); n != 0 {
			t.Errorf("%d connections of the user \"\"", n)
		}
		if n := d.items(t, table); n != 1 {
			t.Errorf("%d connections stored, want 1", n)
		}
		viewer.Close()
		stacktest.Eventually(t, "the viewer's items deleted", func() bool {
			return d.items(t, table) == 0 && d.items(t, subscriptions) == 0
		})
	})
}
