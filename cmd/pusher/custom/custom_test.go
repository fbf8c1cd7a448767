package custom_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// address is what the teams' stage makes of a frame: testdata/teampusher and
// testdata/teamlambda address each one to its user.
func address(user, frame string) string { return `{"to":"` + user + `","data":` + frame + `}` }

// TestTeamPusherInDevMode builds a team's own pusher, ten lines over cli.Main with a
// stage, and runs it as `teampusher dev`: live clients receive the frames its stage made.
func TestTeamPusherInDevMode(t *testing.T) {
	bin := stacktest.BuildCommand(t, "./cmd/pusher/custom/testdata/teampusher")
	p := stacktest.StartProcess(t, "teampusher dev", bin, []string{"dev", "--listen", "127.0.0.1:0"}, nil)
	listening := regexp.MustCompile(`pusher dev listening on http://(\S+)`)
	var addr string
	stacktest.Eventually(t, "teampusher dev listening", func() bool {
		if m := listening.FindStringSubmatch(p.Output()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	alice, bob := gatewaytest.Dial(t, addr, "alice", "alice"), gatewaytest.Dial(t, addr, "bob", "bob")

	resp, err := http.Post("http://"+addr+"/notifications", "application/json", strings.NewReader(`{"users":["alice","bob"],"data":{"n":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	for _, c := range []*gatewaytest.Client{alice, bob} {
		if got, want := c.Next(t), address(c.Name, `{"n":1}`); got != want {
			t.Errorf("%s got %s, want %s", c.Name, got, want)
		}
	}
}

// recorder is a team's own poster: it keeps the frames it is given.
type recorder struct {
	mu     sync.Mutex
	frames map[string]string
}

func (r *recorder) PostToConnection(_ context.Context, id string, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames[id] = string(frame)
	return nil
}

func (r *recorder) got(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames[id]
}

// TestOptionsInDevMode builds `pusher dev` with a team's poster, middleware, source,
// observer and logger: a request from the team's source reaches its poster, its
// middleware runs on every stage, its observer counts the delivery, its logger logs it.
func TestOptionsInDevMode(t *testing.T) {
	poster := &recorder{frames: map[string]string{}}
	var runs atomic.Int64
	counting := func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			runs.Add(1)
			return h(msg)
		}
	}
	source := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	t.Cleanup(func() { _ = source.Close() })
	observed := &observer{}
	var logs awstest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	opts := []custom.Option{
		custom.WithPoster(poster),
		custom.WithMiddleware(counting),
		custom.WithSource("team", source, "team-requests"),
		custom.WithObserver(observed),
		custom.WithLogger(logger),
	}
	cfg, err := dev.Defaults(dev.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p, cleanup, err := pusher.BuildDev(t.Context(), cfg, opts, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stacktest.RunUntilCleanup(t, "pusher dev", p.Run)
	<-p.Pipeline.Running()
	carol := gatewaytest.Dial(t, p.Listener.Addr().String(), "carol", "carol")
	conns, err := p.Store.UserConnections(t.Context(), "carol")
	if err != nil || len(conns) != 1 {
		t.Fatal(conns, err)
	}

	if err := source.Publish("team-requests", message.NewMessage(watermill.NewUUID(), []byte(`{"users":["carol"],"data":"hi"}`))); err != nil {
		t.Fatal(err)
	}

	stacktest.Eventually(t, "the team's poster got carol's frame", func() bool { return poster.got(conns[0].ConnectionID) == `"hi"` })
	carol.Quiet(t, 0) // the team's poster, not the local gateway, took it
	stacktest.Eventually(t, "the observer counted the delivery", func() bool { return observed.delivered.Load() == 1 })
	if n := runs.Load(); n < 5 {
		t.Errorf("the team's middleware ran %d times, want once a stage at least (decode to post)", n)
	}
	stacktest.Eventually(t, "the team's logger logged the request", func() bool { return strings.Contains(logs.String(), `"msg":"request settled"`) })
}

// observer counts the deliveries the pipeline reports.
type observer struct {
	pipeline.NopObserver
	delivered atomic.Int64
}

func (o *observer) Progressed(d pipeline.Stats) { o.delivered.Add(int64(d.Delivered)) }
