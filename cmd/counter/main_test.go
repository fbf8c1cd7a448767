package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// TestParseConfig reads the flags as `go run ./cmd/counter` does.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr string
	}{
		{name: "defaults", want: config{Listen: "127.0.0.1:8081", Pusher: "http://127.0.0.1:8080", WebSocket: "ws://127.0.0.1:8080/"}},
		{name: "another pusher", args: []string{"--listen", ":9000", "--pusher", "http://10.0.0.5:8080", "--websocket", "wss://abc.execute-api.eu-central-1.amazonaws.com/production"},
			want: config{Listen: ":9000", Pusher: "http://10.0.0.5:8080", WebSocket: "wss://abc.execute-api.eu-central-1.amazonaws.com/production"}},
		{name: "listen without a port", args: []string{"--listen", "127.0.0.1"}, wantErr: `--listen "127.0.0.1": address 127.0.0.1: missing port in address`},
		{name: "pusher without a scheme", args: []string{"--pusher", "127.0.0.1:8080"}, wantErr: `--pusher "127.0.0.1:8080"`},
		{name: "pusher as a WebSocket", args: []string{"--pusher", "ws://127.0.0.1:8080"}, wantErr: `--pusher "ws://127.0.0.1:8080": want a http://host:port URL`},
		{name: "websocket as HTTP", args: []string{"--websocket", "http://127.0.0.1:8080/"}, wantErr: `--websocket "http://127.0.0.1:8080/": want a ws://host:port URL`},
		{name: "an argument", args: []string{"serve"}, wantErr: `unexpected arguments ["serve"]`},
		{name: "an unknown flag", args: []string{"--port", "1"}, wantErr: "flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseConfig: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("parseConfig: %v, want an error %q", err, tt.wantErr)
			case tt.wantErr == "" && got != tt.want:
				t.Errorf("parseConfig = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseConfig([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestRunStops: the counter serves its page until its context ends (SIGINT or SIGTERM in
// main), then returns nil and frees its port, at once although a browser holds a
// connection on which it sent nothing yet (Chromium opens one beside the page's).
func TestRunStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Listen: addr, Pusher: "http://127.0.0.1:8080", WebSocket: "ws://127.0.0.1:8080/"}, slog.New(slog.DiscardHandler))
	}()
	page := "http://" + addr + "/"
	stacktest.Eventually(t, "the counter serves its page", func() bool {
		resp, err := http.Get(page)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	spare, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	// The server accepts connections in order: once a request on a later one is
	// answered, it holds the spare one.
	later := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := later.Get(page); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	began := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v", err)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("run took %s to stop, want at once", took.Round(time.Millisecond))
	}
	if _, err := http.Get(page); err == nil {
		t.Error("still serving after its context ended")
	}
}
