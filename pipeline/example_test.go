package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// printer is a gateway that keeps what it is sent.
type printer struct {
	mu    sync.Mutex
	posts []string
}

func (p *printer) PostToConnection(_ context.Context, id string, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, id+" "+string(frame))
	return nil
}

// A custom stage after resolve drops the connections of muted users before fan-out.
func ExamplePipeline_Insert() {
	store := memory.NewStore(100)
	for _, c := range []handlers.Connection{{UserID: "ann", ConnectionID: "ann-1"}, {UserID: "bo", ConnectionID: "bo-1"}, {UserID: "cy", ConnectionID: "cy-1"}} {
		_ = store.AddConnection(context.Background(), c)
	}
	gateway := &printer{}
	p, err := pipeline.New(pipeline.Config{}, store, gateway, memory.NewPoisonQueue(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		panic(err)
	}

	muted := map[string]bool{"bo": true}
	err = p.Insert(pipeline.Stage{
		Name:  "drop-muted",
		After: pipeline.StageResolve,
		Handler: pipeline.FilterConnections(func(_ context.Context, c handlers.Connection) (bool, error) {
			return !muted[c.UserID], nil
		}),
	})
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	<-p.Running()

	res, err := p.Process(ctx, message.NewMessage(watermill.NewUUID(), []byte(`{"data":{"text":"hi"}}`)))
	if err != nil {
		panic(err)
	}
	cancel()
	<-done

	slices.Sort(gateway.posts)
	for _, post := range gateway.posts {
		fmt.Println(post)
	}
	fmt.Printf("delivered %d of %d stored\n", res.Delivered, store.Len())
	// Output:
	// ann-1 {"text":"hi"}
	// cy-1 {"text":"hi"}
	// delivered 2 of 3 stored
}
