package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

func TestBus(t *testing.T) {
	t.Run("hands the message itself to the subscriber, in order", func(t *testing.T) {
		b := newBus()
		defer b.Close()
		ch, err := b.Subscribe(context.Background(), "t")
		if err != nil {
			t.Fatal(err)
		}
		sent := []*message.Message{message.NewMessage(watermill.NewUUID(), nil), message.NewMessage(watermill.NewUUID(), nil)}
		go func() { _ = b.Publish("t", sent...) }()
		for i, want := range sent {
			if got := <-ch; got != want {
				t.Fatalf("message %d: got %s, want %s", i, got.UUID, want.UUID)
			}
		}
	})
	t.Run("a topic without a subscriber drops its messages", func(t *testing.T) {
		b := newBus()
		defer b.Close()
		if err := b.Publish("nobody", message.NewMessage(watermill.NewUUID(), nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("one subscriber a topic", func(t *testing.T) {
		b := newBus()
		defer b.Close()
		if _, err := b.Subscribe(context.Background(), "t"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(context.Background(), "t"); err == nil {
			t.Fatal("a second subscriber was taken")
		}
	})
	t.Run("the subscription ends with its context, and may be taken again", func(t *testing.T) {
		b := newBus()
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ch, _ := b.Subscribe(ctx, "t")
		cancel()
		if _, open := <-ch; open {
			t.Fatal("the channel is still open")
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := b.Subscribe(context.Background(), "t"); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("subscribe again: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("close wakes blocked publishers and ends subscriptions", func(t *testing.T) {
		b := newBus()
		ch, _ := b.Subscribe(context.Background(), "t")
		errs := make(chan error)
		for range 8 {
			go func() { errs <- b.Publish("t", message.NewMessage(watermill.NewUUID(), nil)) }()
		}
		_ = b.Close()
		for range 8 {
			if err := <-errs; !errors.Is(err, errBusClosed) {
				t.Errorf("blocked publish: %v, want the bus closed", err)
			}
		}
		if _, open := <-ch; open {
			t.Error("the subscription is still open")
		}
		if _, err := b.Subscribe(context.Background(), "u"); !errors.Is(err, errBusClosed) {
			t.Errorf("subscribe after close: %v", err)
		}
	})
	t.Run("publishers racing the close neither panic nor hang", func(t *testing.T) {
		for range 50 {
			b := newBus()
			ctx, cancel := context.WithCancel(context.Background())
			ch, _ := b.Subscribe(ctx, "t")
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 1000 { // after the close, the topic has no subscriber: dropped
						if b.Publish("t", message.NewMessage(watermill.NewUUID(), nil)) != nil {
							return
						}
					}
				}()
			}
			go func() {
				for range ch {
				}
			}()
			time.Sleep(time.Millisecond)
			cancel()
			wg.Wait()
			_ = b.Close()
		}
	})
}
