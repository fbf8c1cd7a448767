package apigw_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestMapFramesAppendIsSigned broadcasts through a custom stage that appends to each
// frame the connection's id, to a gateway that verifies signatures: the frames the
// stage made from the page's shared one are all of the same length, so were they
// written into its spare capacity they would share where they live too, and the
// Poster's hash cache would sign one connection's body for another. Every connection
// gets its own frame, and every signature verifies.
func TestMapFramesAppendIsSigned(t *testing.T) {
	api := &verifyingAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	poster := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}, apigw.Config{Endpoint: srv.URL})
	store := memory.NewStore(100)
	const n = 300
	for i := range n {
		_ = store.AddConnection(t.Context(), handlers.Connection{UserID: fmt.Sprintf("u%03d", i), ConnectionID: fmt.Sprintf("c%03d", i), ConnectedAt: time.Now().Add(-time.Hour)})
	}
	p, err := pipeline.New(pipeline.Config{}, store, poster, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Insert(pipeline.Stage{
		Name:  "sign-off",
		After: pipeline.StageFanout,
		Handler: pipeline.MapFrames(func(_ context.Context, c handlers.Connection, frame []byte) ([]byte, error) {
			return append(frame, " for "+c.ConnectionID...), nil
		}),
		Concurrency: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()

	reqCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// 34 bytes of data: decoded into an array of 48, with room for " for c000".
	res, err := p.Process(reqCtx, message.NewMessage(watermill.NewUUID(), []byte(`{"data":{"text":"hello to everyone here!"}}`)))

	if err != nil || res.Delivered != n {
		t.Fatalf("Process = %+v, %v; want %d delivered", res.Stats, err, n)
	}
	if _, refused := api.taken(); len(refused) != 0 {
		t.Fatalf("%d posts refused, the first: %s", len(refused), refused[0])
	}
	got := api.received()
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		if want := `{"text":"hello to everyone here!"} for ` + id; len(got[id]) != 1 || got[id][0] != want {
			t.Errorf("%s got %q, want %q", id, got[id], want)
		}
	}
}
